"""Small helpers every app's views share."""

import json
from urllib.parse import urlsplit

from django.http import HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

from core import crypto


def posted(request):
    """The form data of a POST (even an empty one, so that it gets its errors), else None."""
    return request.POST if request.method == "POST" else None


def is_htmx(request):
    return request.headers.get("HX-Request") == "true"


def current_page(request):
    """The path (with query) of the page the browser shows: for htmx, the page around the fragment.

    htmx names it in HX-Current-URL, a header the browser's script sets: anything not on this
    panel's own host falls back to the home page.
    """
    if not is_htmx(request):
        return request.get_full_path()
    url = request.headers.get("HX-Current-URL", "")
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return "/"
    parts = urlsplit(url)
    if not parts.path.startswith("/"):
        return "/"
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def page_redirect(request, to, *args, **kwargs):
    """Send the browser to ``to`` (as ``redirect`` takes it) as the whole page, also from an htmx request.

    htmx would follow a plain redirect itself and swap the page it lands on into the cell or dialog
    it targets; HX-Redirect makes it load that page in the window instead.
    """
    if not is_htmx(request):
        return redirect(to, *args, **kwargs)
    response = HttpResponse()
    response["HX-Redirect"] = resolve_url(to, *args, **kwargs)
    return response


def apply_service_errors(form, error):
    """Show a service's ValidationError on the form fields it names (the rest above the form)."""
    for field, field_messages in error.message_dict.items():
        for message in field_messages:
            form.add_error(field if field in form.fields else None, message)


def page_query(request):
    """The current query string without ``page``, ready for ``?{{ page_query }}page=N``."""
    query = request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    return f"{encoded}&" if encoded else ""


_SHOWN_ONCE = "panel_shown_once:"


def keep_for_next_page(request, name, data):
    """Keep ``data`` (JSON-able, secrets too) for the one page the browser is redirected to next.

    Post/redirect/get for what must be shown once (a new token's secret, recovery codes): the POST
    keeps it encrypted in the server-side session, never in the URL; reloading the page, or going
    Back to it, finds nothing and creates nothing.
    """
    request.session[_SHOWN_ONCE + name] = crypto.encrypt(json.dumps(data))


def take_kept(request, name):
    """What ``keep_for_next_page`` kept under ``name``, gone from the session from now on; None if nothing."""
    kept = request.session.pop(_SHOWN_ONCE + name, None)
    return None if kept is None else json.loads(crypto.decrypt(kept))
