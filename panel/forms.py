from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, UsernameField
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts import selectors
from core import device_cookies, throttle
from core.audit import Origin
from usersessions.validators import (
    SESSION_LIFETIME_MAX_DAYS,
    SESSION_LIFETIME_MIN_MINUTES,
    validate_session_policy,
)


class TypedUsernameField(UsernameField):
    """The name as typed, without Django's NFKC normalisation, which makes ``ſ`` an ``s`` and full-width letters ASCII.

    Usernames are ASCII and match ignoring ASCII case only; any other character finds no account.
    """

    def to_python(self, value):
        return forms.CharField.to_python(self, value)


class LoginForm(AuthenticationForm):
    username = TypedUsernameField(label=_("Username"), widget=forms.TextInput(attrs={"autofocus": True}))

    error_messages = {
        **AuthenticationForm.error_messages,
        # The same words whether the username exists or not.
        "invalid_login": _("Incorrect username or password."),
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        # "webauthn" lets the browser offer saved passkeys in the username's autofill (conditional mediation).
        self.fields["username"].widget.attrs["autocomplete"] = "username webauthn"

    def clean(self):
        # AuthenticationForm.clean, with the check under the login guard: before the password hash runs,
        # a throttled guess costs nothing and learns nothing. A browser with this account's device
        # cookie is counted on its own, so that a lock made elsewhere does not keep its owner out.
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if username is not None and password:
            origin = Origin.from_request(self.request)
            typed = self.data.get("username")
            device = device_cookies.device_for(self.request, typed)
            with throttle.guarded_attempt(origin=origin, action="auth.login", username=typed, device=device):
                self.user_cache = authenticate(self.request, username=username, password=password)
                if self.user_cache is None:
                    raise self.get_invalid_login_error()
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data

    def confirm_login_allowed(self, user):
        """Only reached with the right password, so saying that the account expired reveals nothing to a guesser."""
        super().confirm_login_allowed(user)
        refusal = selectors.login_refusal(user)
        if refusal:
            throttle.refuse_account(origin=Origin.from_request(self.request), user=user, reason="account expired")
            raise forms.ValidationError(refusal, code="expired")


def _lifetime_help():
    minimum = ngettext(
        "How long a login lasts, however active: %(minimum)d minute to %(maximum)d days. Empty: the panel's default.",
        "How long a login lasts, however active: %(minimum)d minutes to %(maximum)d days. Empty: the panel's default.",
        SESSION_LIFETIME_MIN_MINUTES,
    )
    return minimum % {"minimum": SESSION_LIFETIME_MIN_MINUTES, "maximum": SESSION_LIFETIME_MAX_DAYS}


class SessionPolicyForm(forms.Form):
    """Seed 002's "token expiration configuration": how long this user's login sessions last."""

    long_term_sessions = forms.BooleanField(
        label=_("Long-term validity"),
        required=False,
        help_text=_("Sessions do not time out: they last while the browser keeps them."),
    )
    session_lifetime_minutes = forms.IntegerField(
        label=_("Expiration time (minutes)"),
        required=False,
        # The range is checked in clean(), by the validator the service uses, with its words.
        widget=forms.NumberInput(
            attrs={"min": SESSION_LIFETIME_MIN_MINUTES, "max": SESSION_LIFETIME_MAX_DAYS * 24 * 60, "step": 1}
        ),
        error_messages={"invalid": _("Enter the expiration time as a whole number of minutes, like 30.")},
        help_text=lazy(_lifetime_help, str)(),
    )
    exclusive_login = forms.BooleanField(
        label=_("Exclusive login"),
        required=False,
        help_text=_("A new login signs this user out of every other browser."),
    )

    @classmethod
    def for_user(cls, user, data=None):
        minutes = user.session_lifetime // 60 if user.session_lifetime else None
        initial = {
            "long_term_sessions": user.long_term_sessions,
            "session_lifetime_minutes": minutes,
            "exclusive_login": user.exclusive_login,
        }
        return cls(data, initial=initial)

    def clean(self):
        """The policy's rules (not long-term and minutes together, the range) before anything is saved."""
        data = super().clean()
        if "session_lifetime_minutes" in data:
            minutes = data["session_lifetime_minutes"]
            try:
                validate_session_policy(
                    long_term=data.get("long_term_sessions"), lifetime_seconds=None if minutes is None else minutes * 60
                )
            except forms.ValidationError as error:
                self.add_error("session_lifetime_minutes", error)
        return data

    def policy(self):
        """The cleaned values as usersessions.services.session_policy_set takes them."""
        minutes = self.cleaned_data["session_lifetime_minutes"]
        return {
            "long_term_sessions": self.cleaned_data["long_term_sessions"],
            "session_lifetime": None if minutes is None else minutes * 60,
            "exclusive_login": self.cleaned_data["exclusive_login"],
        }
