from django import forms
from django.utils.translation import gettext_lazy as _

CODE_HELP = _("The 6-digit code, or a recovery code like abcd-efgh-jkmn-pqrs.")


def _code_field(label=None):
    return forms.CharField(
        label=label or _("Code"),
        max_length=32,
        error_messages={"required": _("Enter the code."), "max_length": _("That is too long to be a code.")},
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )


class VerifyForm(forms.Form):
    """The login's second step: which factor, and its code."""

    method = forms.ChoiceField(label=_("Verify with"), widget=forms.RadioSelect)
    code = _code_field()

    LABELS = {"totp": _("Authenticator app"), "recovery": _("Recovery code"), "email": _("Code sent by email")}

    def __init__(self, *args, methods=(), chosen=None, **kwargs):
        """``chosen``: the factor to start on (the one a code was just emailed for), else the first."""
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [(method, self.LABELS[method]) for method in methods]
        if methods:
            self.fields["method"].initial = chosen if chosen in methods else methods[0]


class ConfirmCodeForm(forms.Form):
    """A code that proves a new factor works (from the app, or from the email just sent)."""

    device = forms.IntegerField(widget=forms.HiddenInput)
    code = _code_field(_("6-digit code"))


class DisableForm(forms.Form):
    """Turning off your own two-factor: a current code, or your password."""

    code = forms.CharField(label=_("A current code from your app, or a recovery code"), required=False, max_length=32)
    password = forms.CharField(label=_("Or your password"), required=False, strip=False, widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if not data.get("code") and not data.get("password"):
            raise forms.ValidationError(_("Enter a current code or your password."))
        return data
