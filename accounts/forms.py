"""Forms only collect input; accounts.services checks every rule and reports per field."""

from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.template.defaultfilters import pluralize

from accounts import selectors
from accounts.models import User
from accounts.validators import (
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    REQUIRED_MESSAGES,
    SESSION_LIFETIME_MAX_DAYS,
    SESSION_LIFETIME_MIN_MINUTES,
)
from core import throttle
from core.audit import Origin
from core.forms import moment_field, untouched_moment
from organisation import scope
from organisation.models import Company

PASSWORD_HELP = (
    f"{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters, "
    "with at least two of: letters, digits, special characters."
)


def _required(field):
    return {"required": REQUIRED_MESSAGES[field]}


def _password_field(label, help_text=""):
    return forms.CharField(
        label=label,
        strip=False,
        error_messages=_required("password"),
        help_text=help_text,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


def _expiry_field():
    return moment_field(
        "Account expires at (UTC)",
        help_text="After this moment the user can no longer log in, and their tokens stop working. Empty: never.",
    )


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        # The same words whether the username exists or not.
        "invalid_login": "Incorrect username or password.",
    }

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        # "webauthn" lets the browser offer saved passkeys in the username's autofill (conditional mediation).
        self.fields["username"].widget.attrs["autocomplete"] = "username webauthn"

    def clean(self):
        # AuthenticationForm.clean, with the check under the login guard: before the password hash runs,
        # a throttled guess costs nothing and learns nothing.
        username, password = self.cleaned_data.get("username"), self.cleaned_data.get("password")
        if username is not None and password:
            origin = Origin.from_request(self.request)
            with throttle.guarded_attempt(origin=origin, action="auth.login", username=self.data.get("username")):
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


class UserCreateForm(forms.Form):
    username = forms.CharField(
        error_messages=_required("username"),
        help_text="Letters, digits, underscores (_) and hyphens (-).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password = _password_field("Password", PASSWORD_HELP)
    email = forms.CharField(error_messages=_required("email"), widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    company = forms.ModelChoiceField(
        queryset=Company.objects.none(),
        required=False,
        label="Related company",
        help_text="The user manages and sees this company and its subsidiaries. Choose carefully.",
    )
    parent = forms.ModelChoiceField(queryset=User.objects.none(), required=False, widget=forms.HiddenInput)
    expires_at = _expiry_field()

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = scope.visible_companies(actor)
        self.fields["parent"].queryset = scope.visible_users(actor)
        if scope.is_unrestricted(actor):
            self.fields["company"].empty_label = "No company: panel staff, who see every user"
        else:
            self.fields["company"].required = True
            self.fields["company"].empty_label = None


class SessionPolicyForm(forms.Form):
    """Seed 002's "token expiration configuration": how long this user's login sessions last."""

    long_term_sessions = forms.BooleanField(
        label="Long-term validity",
        required=False,
        help_text="Sessions do not time out: they last while the browser keeps them.",
    )
    session_lifetime_minutes = forms.IntegerField(
        label="Expiration time (minutes)",
        required=False,
        min_value=SESSION_LIFETIME_MIN_MINUTES,
        max_value=SESSION_LIFETIME_MAX_DAYS * 24 * 60,
        help_text="How long a login lasts, however active. Empty: the panel's default.",
    )
    exclusive_login = forms.BooleanField(
        label="Exclusive login",
        required=False,
        help_text="A new login signs this user out of every other browser.",
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

    def policy(self):
        """The cleaned values as accounts.services.user_set_session_policy takes them."""
        minutes = self.cleaned_data["session_lifetime_minutes"]
        return {
            "long_term_sessions": self.cleaned_data["long_term_sessions"],
            "session_lifetime": minutes * 60 if minutes else None,
            "exclusive_login": self.cleaned_data["exclusive_login"],
        }


class ExpiryForm(forms.Form):
    expires_at = _expiry_field()
    whole_company = forms.BooleanField(required=False)

    def __init__(self, *args, user, company_size=0, **kwargs):
        super().__init__(*args, **kwargs)
        if user.company_id is None:
            del self.fields["whole_company"]
        else:
            self.fields[
                "whole_company"
            ].label = f"Apply to all {company_size} account{pluralize(company_size)} of {user.company.name}"
            self.fields["whole_company"].help_text = "Not to its subsidiaries. You confirm the number on the next step."

    def clean_expires_at(self):
        return untouched_moment(self.cleaned_data["expires_at"], self.initial.get("expires_at"))


class UserFieldForm(forms.Form):
    """One inline-edited value: a username or an email."""

    value = forms.CharField(required=False, strip=False)


class SetPasswordForm(forms.Form):
    password = _password_field("New password", PASSWORD_HELP)


class ChangeOwnPasswordForm(forms.Form):
    current_password = forms.CharField(
        label="Current password",
        strip=False,
        error_messages=_required("current_password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    password = _password_field("New password", PASSWORD_HELP)


class MoveForm(forms.Form):
    company = forms.ModelChoiceField(queryset=Company.objects.none(), required=False, label="Related company")

    def __init__(self, *args, actor, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["company"].queryset = scope.visible_companies(actor)
        if scope.is_unrestricted(actor):
            self.fields["company"].empty_label = "No company: panel staff, who see every user"
        else:
            self.fields["company"].required = True
            self.fields["company"].empty_label = None
