"""Re-authentication ("sudo mode", as GitHub does it): sensitive changes need a recent login proof.

A session holds when its user last proved who they are: at login (any way of logging in goes
through ``django.contrib.auth.login``, whose signal marks it, see core.signals) and at each
re-authentication. Creating or changing credentials, access, second factors or deleting accounts
needs a proof younger than ``PANEL_REAUTH_SECONDS``; a stolen session cookie alone is no longer
enough to plant a lasting backdoor (ASVS 5.0 7.5.1).

Pages: ``@sudo_required`` answers a stale POST with the password prompt (and a second-factor code
when the user has one), carrying the submitted input along in hidden fields; once the check passes
under the login guard, the original action runs with that input. API: ``require_recent_proof`` makes
a browser session's request without a recent proof a 403 with a message (access tokens never change
credentials at all). Written by hand: no library offers sudo mode for Django's sessions.
"""

import functools
import time

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import QueryDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django_otp import devices_for_user
from django_otp.plugins.otp_email.models import EmailDevice

from core import device_cookies, throttle
from core.audit import Origin, record
from core.models import AuditEvent
from core.view_helpers import render_action

PROOF_AT = "panel_proof_at"
_REAUTH_FIELDS = ("_reauth", "_reauth_password", "_reauth_code", "csrfmiddlewaretoken")


def mark_proof(session):
    """The user just proved who they are (a login or a re-authentication)."""
    session[PROOF_AT] = int(time.time())


def has_recent_proof(request) -> bool:
    proven_at = request.session.get(PROOF_AT)
    return proven_at is not None and time.time() - proven_at <= settings.PANEL_REAUTH_SECONDS


def stale_message():
    minutes = settings.PANEL_REAUTH_SECONDS // 60
    message = ngettext(
        "This change needs a recent login: confirm your password in the panel (in the last %(minutes)d minute) "
        "and try again.",
        "This change needs a recent login: confirm your password in the panel (in the last %(minutes)d minutes) "
        "and try again.",
        minutes,
    )
    return message % {"minutes": minutes}


def require_recent_proof(request):
    """For the API: a browser session must have proved itself recently (PermissionDenied otherwise).

    A request with an access token carries its own proof (the secret) and is let through here.
    """
    if getattr(request, "access_token", None) is None and not has_recent_proof(request):
        raise PermissionDenied(stale_message())


def _second_factors(user):
    return list(devices_for_user(user, confirmed=True))


class ReauthForm(forms.Form):
    """Your password, and a code from a second factor when you have one: the same proof as logging in."""

    _reauth_password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    _reauth_code = forms.CharField(
        label=gettext_lazy("Code from your second factor"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        self.devices = _second_factors(request.user)
        self.code_mailed = False
        if not self.devices:
            del self.fields["_reauth_code"]
        elif not self.is_bound and all(isinstance(device, EmailDevice) for device in self.devices):
            _mail_a_code(request, self.devices[0])
            self.code_mailed = True  # or one was, less than a minute ago

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        user, origin = self.request.user, Origin.from_request(self.request)
        device = device_cookies.device_for(self.request, user.get_username())
        with throttle.guarded_attempt(
            origin=origin, action="auth.reauth", username=user.get_username(), target=user, device=device
        ):
            code = data.get("_reauth_code", "").replace(" ", "")
            if not user.check_password(data["_reauth_password"]):
                self._refuse(origin, "wrong password", _("That password is not correct."))
            if self.devices and not any(device.verify_token(code) for device in self.devices):
                self._refuse(origin, "wrong code", _("That code is not correct."))
        return data

    def _refuse(self, origin, reason, message):
        record(
            origin=origin,
            action="auth.reauth",
            target=self.request.user,
            outcome=AuditEvent.Outcome.FAILURE,
            details={"reason": reason},
        )
        raise forms.ValidationError(message, code=reason.replace(" ", "_"))


def _mail_a_code(request, device):
    """A user whose only second factor is email codes gets one with the prompt (one a minute at most)."""
    allowed, _ = device.generate_is_allowed()
    if allowed:
        device.generate_challenge(extra_context={"panel_name": settings.PANEL_NAME, "username": request.user.username})
        record(origin=Origin.from_request(request), action="mfa.email.code_sent", target=request.user)


def _kept_input(post):
    """The submitted input, without the re-authentication fields, to carry through the prompt."""
    return [(key, value) for key in post for value in post.getlist(key) if key not in _REAUTH_FIELDS]


def sudo_required(view=None, *, when=None):
    """Run ``view`` for a POST only with a recent login proof; else ask for one, keeping the input.

    ``when(request, *args, **kwargs)``, if given, says whether this request is a sensitive one
    (changing your email is; changing your username is not).
    """
    if view is None:
        return functools.partial(sudo_required, when=when)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        sensitive = request.method == "POST" and (when is None or when(request, *args, **kwargs))
        if not sensitive or has_recent_proof(request):
            return view(request, *args, **kwargs)
        kept = _kept_input(request.POST)
        form = ReauthForm(request.POST if "_reauth" in request.POST else None, request=request)
        if form.is_bound and form.is_valid():
            mark_proof(request.session)
            record(origin=Origin.from_request(request), action="auth.reauth", target=request.user)
            request.POST = QueryDict(mutable=True)
            for key, value in kept:
                request.POST.appendlist(key, value)
            return view(request, *args, **kwargs)
        context = {"form": form, "kept": kept, "minutes": settings.PANEL_REAUTH_SECONDS // 60}
        return render_action(request, "core/reauth.html", context, status=400 if form.errors else 200)

    return wrapper
