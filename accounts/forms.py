"""Forms only collect input; accounts.services checks every rule and reports per field."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from accounts import login_guard
from accounts.validators import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, REQUIRED_MESSAGES
from panel.audit import Origin
from panel.client_ip import get_client_ip

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
        # Before the password hash runs: a throttled guess costs nothing and learns nothing.
        wait = login_guard.wait_seconds(username=self.data.get("username"), ip=get_client_ip(self.request))
        if wait:
            login_guard.refuse_throttled(
                origin=Origin.from_request(self.request), action="auth.login", username=self.data.get("username")
            )
            raise forms.ValidationError(login_guard.locked_out_message(wait), code="throttled")
        return super().clean()


class UserCreateForm(forms.Form):
    username = forms.CharField(
        error_messages=_required("username"),
        help_text="Letters, digits, underscores (_) and hyphens (-).",
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
    )
    password = _password_field("Password", PASSWORD_HELP)
    email = forms.CharField(error_messages=_required("email"), widget=forms.EmailInput(attrs={"autocomplete": "off"}))


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
