"""Small helpers every app's views share."""

import json
import re
import sys
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.contrib.auth.context_processors import PermLookupDict, PermWrapper
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render, resolve_url
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
    it targets; HX-Redirect makes it load that page in the window instead. When the dialog was opened on
    ``to`` itself with a query (a later page, a filter, a page size), it goes back there, not to page one.
    """
    if not is_htmx(request):
        return redirect(to, *args, **kwargs)
    target = resolve_url(to, *args, **kwargs)
    shown = current_page(request)
    response = HttpResponse()
    response["HX-Redirect"] = shown if urlsplit(shown).path == urlsplit(target).path else target
    return response


def render_action(request, template, context, *, status=200):
    """A quick action (a form, a confirmation): the shared dialog's content for htmx, else a page of its own.

    ``template`` extends ``action_base``, so one template serves both. htmx swaps 2xx answers
    only, so a refused form comes back to it as 200 with its errors; success answers with
    ``page_redirect`` to the list.
    """
    dialog = is_htmx(request)
    base = "_action_dialog.html" if dialog else "_action_page.html"
    return render(request, template, {**context, "action_base": base}, status=200 if dialog else status)


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


# Page sizes a paged list offers (``?size=``); a list's own default joins them.
PAGE_SIZES = (20, 50, 100, 200)
# Longer page numbers are past the end of any list (and int() of thousands of digits is refused).
_MAX_PAGE_DIGITS = 18


@dataclass(frozen=True)
class Paging:
    """What a paged list was asked for: ``?size=`` and ``?page=``, forgivingly read.

    A size that is not offered is the list's default; a page number that is not a positive whole
    number is the first page; one past the end is the last page (``context`` tells the template,
    which says so). Never an error: these come from links people edit and share.
    """

    size: int
    default_size: int
    sizes: tuple[int, ...]
    number: int
    query: str  # the query string without ``page``, ready for ``?{{ paging.query }}page=N``
    kept: tuple[tuple[str, str], ...]  # the other parameters, for the hidden fields of the paging forms

    def context(self, page):
        """The template context of ``page`` (got from a paginator with ``number``): the page and how it was asked."""
        return {"page": page, "paging": self, "past_end": page.number < self.number}


def paging(request, *, default_size):
    sizes = tuple(sorted({*PAGE_SIZES, default_size}))
    asked = request.GET.get("size", "")
    size = next((offered for offered in sizes if asked == str(offered)), default_size)
    kept = tuple(
        (name, value) for name, values in request.GET.lists() if name not in ("page", "size") for value in values
    )
    return Paging(
        size=size,
        default_size=default_size,
        sizes=sizes,
        number=_page_number(request.GET.get("page", "")),
        query=page_query(request),
        kept=kept,
    )


def _page_number(raw):
    if not re.fullmatch(r"[0-9]+", raw):
        return 1
    digits = raw.lstrip("0")
    return sys.maxsize if len(digits) > _MAX_PAGE_DIGITS else max(int(digits or 0), 1)


def query_keeping(request, names):
    """Only the parameters ``names`` of the current query string, ready for ``?{{ query }}other=…``."""
    query = QueryDict(mutable=True)
    for name in names:
        if name in request.GET:
            query.setlist(name, request.GET.getlist(name))
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


class _RememberedLookup(PermLookupDict):
    def __init__(self, user, app_label):
        super().__init__(user, app_label)
        self.known = {}

    def __getitem__(self, perm_name):
        if perm_name not in self.known:
            self.known[perm_name] = super().__getitem__(perm_name)
        return self.known[perm_name]


class RememberedPerms(PermWrapper):
    """The template's ``perms``, each answer looked up once: for a page that asks the same many times.

    Pass it as ``perms`` in the page's context (it takes the context processor's place): the user list's
    company tree asks on every company it shows.
    """

    def __init__(self, user):
        super().__init__(user)
        self.apps = {}

    def __getitem__(self, app_label):
        if app_label not in self.apps:
            self.apps[app_label] = _RememberedLookup(self.user, app_label)
        return self.apps[app_label]
