"""The passkey manager page, and the JSON endpoints static/js/passkeys.js drives the ceremonies through.

Everyone sees and deletes their own passkeys; another user's need
``passkeys.manage_others_passkeys``. Registering is only ever for yourself:
those endpoints take no user ID at all.
"""

import functools
import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from core import reauth, throttle
from core.audit import Origin, record
from core.client_ip import get_client_ip, throttle_key
from core.errors import error_response
from core.throttle import FailureLimit
from core.view_helpers import page_redirect, posted, render_action
from passkeys import relying_party, selectors, services
from passkeys.forms import PasskeyNameForm

# A login page starts one or two ceremonies per visit; this is far above what people need.
LOGIN_STARTS_PER_IP = FailureLimit(name="passkey-login-start-ip", limit=60, window=600)


def _error(detail, status, errors=None):
    return error_response(status, detail, errors)


def _options(options_json):
    response = JsonResponse(json.loads(options_json))
    response["Cache-Control"] = "no-store"
    return response


def _credential(request):
    """The credential JSON object the browser posted, or None."""
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    credential = body.get("credential") if isinstance(body, dict) else None
    return credential if isinstance(credential, dict) else None


def _ceremony(view):
    """A JSON ceremony endpoint: POST only, never cached, refused (403) where passkeys cannot work."""

    @functools.wraps(view)
    @never_cache
    @require_POST
    def endpoint(request):
        try:
            rp = relying_party.for_request(request)
        except relying_party.PasskeysUnavailable as reason:
            return _error(str(reason), 403)
        return view(request, rp)

    return endpoint


# The manager


def _list_page(request, owner, *, form=None, status=200):
    try:
        relying_party.for_request(request)
        unavailable = None
    except relying_party.PasskeysUnavailable as reason:
        unavailable = str(reason)
    context = {
        "owner": owner,
        "own": owner.pk == request.user.pk,
        "passkeys": selectors.passkeys_of(owner=owner),
        "unavailable": unavailable,
        "form": form or PasskeyNameForm(),
        "show_register": form is not None,
    }
    return render(request, "passkeys/passkey_list.html", context, status=status)


def passkey_list(request, user_id):
    return _list_page(request, selectors.passkey_owner(actor=request.user, user_id=user_id))


@require_http_methods(["GET", "POST"])
@reauth.sudo_required
def passkey_register_page(request, user_id):
    """The register dialog as a page. Registering itself needs JavaScript; a plain POST is told so."""
    owner = selectors.passkey_owner(actor=request.user, user_id=user_id)
    if owner.pk != request.user.pk:
        return redirect("passkeys:passkey_list", user_id=owner.pk)
    form = PasskeyNameForm(posted(request))
    if request.method == "POST":
        form.is_valid()  # the name's own errors show too
        form.add_error(None, _("Registering a passkey needs JavaScript: turn it on for this site and try again."))
    return _list_page(request, owner, form=form, status=400 if request.method == "POST" else 200)


@require_http_methods(["GET", "POST"])
@reauth.sudo_required
def passkey_delete(request, user_id, passkey_id):
    owner = selectors.passkey_owner(actor=request.user, user_id=user_id)
    passkey = selectors.passkey_get(owner=owner, passkey_id=passkey_id)
    if request.method == "POST":
        services.passkey_delete(origin=Origin.from_request(request), passkey=passkey)
        messages.success(
            request, _("Passkey “%(name)s” was deleted. It can no longer log in.") % {"name": passkey.name}
        )
        return page_redirect(request, "passkeys:passkey_list", user_id=owner.pk)
    return render_action(request, "passkeys/passkey_delete.html", {"owner": owner, "passkey": passkey})


# Registration ceremony (the logged-in user, for their own account)


@_ceremony
def register_options(request, rp):
    if not reauth.has_recent_proof(request):
        return _error(reauth.stale_message(), 403)
    form = PasskeyNameForm(request.POST)
    if not form.is_valid():
        return _error(_("Check the passkey's name."), 422, _messages(form))
    try:
        options = services.registration_options(user=request.user, rp=rp, name=form.cleaned_data["name"])
    except ValidationError as error:
        return _error(_("Check the passkey's name."), 422, error.message_dict)
    return _options(options)


@_ceremony
def register_finish(request, rp):
    credential = _credential(request)
    if credential is None:
        return _error(_('Send the new credential as JSON: {"credential": {...}}.'), 400)
    try:
        passkey = services.passkey_register(
            origin=Origin.from_request(request), user=request.user, rp=rp, credential=credential
        )
    except services.PasskeyRefused as refused:
        return _error(str(refused), 400)
    except ValidationError as error:
        return _error(_("Check the passkey's name."), 422, error.message_dict)
    told = _("Passkey “%(name)s” was registered. You can now log in with it.")
    messages.success(request, told % {"name": passkey.name})
    return JsonResponse({"redirect": reverse("passkeys:passkey_list", args=[request.user.pk])}, status=201)


def _messages(form):
    return {field: [str(message) for message in errors] for field, errors in form.errors.items()}


# Login ceremony (anonymous)


@login_not_required
@_ceremony
def login_options(request, rp):
    # Each start stores a challenge: bound them per address, so that nobody can fill the cache.
    ip = throttle_key(get_client_ip(request))
    if LOGIN_STARTS_PER_IP.blocked(ip):
        response = _error(_("Too many passkey logins started from your address. Wait a few minutes."), 429)
        response["Retry-After"] = str(LOGIN_STARTS_PER_IP.window)
        return response
    LOGIN_STARTS_PER_IP.fail(ip)
    return _options(services.login_options(rp=rp))


@login_not_required
@_ceremony
def login_finish(request, rp):
    user, refusal = _verified_user(request, rp, action="passkey.login", username=None)
    if refusal is not None:
        return refusal
    # Possession plus user verification: two factors in one, so no second step follows.
    login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    request.session[selectors.LOGGED_IN_BY_PASSKEY] = True
    return JsonResponse({"redirect": _next_url(request)})


@_ceremony
def reauth_finish(request, rp):
    """Re-authentication (sudo mode) with one of your own passkeys: a fresh login proof for this session."""
    me = request.user
    user, refusal = _verified_user(request, rp, action="auth.reauth", username=me.get_username(), target=me)
    if refusal is not None:
        return refusal
    if user.pk != me.pk:
        return _error(_("That passkey belongs to another account: use one of your own."), 403)
    reauth.mark_proof(request.session)
    record(origin=Origin.from_request(request), action="auth.reauth", target=me, details={"method": "passkey"})
    return JsonResponse({"confirmed": True})


def _verified_user(request, rp, *, action, username, target=None):
    """The user whose passkey answered ``request`` (under the login guard), or None and the refusal to send."""
    origin = Origin.from_request(request)
    credential = _credential(request)
    if credential is None:
        return None, _error(_('Send the passkey\'s answer as JSON: {"credential": {...}}.'), 400)
    try:
        with throttle.guarded_attempt(
            origin=origin, action=action, username=username, target=target, failures=(services.PasskeyRefused,)
        ):
            return services.passkey_authenticate(origin=origin, rp=rp, credential=credential), None
    except throttle.Throttled as throttled:
        response = _error(throttled.messages[0], 429)
        response["Retry-After"] = str(throttled.wait)
        return None, response
    except services.PasskeyRefused as refused:
        return None, _error(str(refused), 400)


def _next_url(request):
    target = request.GET.get("next", "")
    allowed = {request.get_host()}
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts=allowed, require_https=request.is_secure())
    return target if target and safe else reverse("home")
