from django import forms

CODE_HELP = "The 6-digit code, or a recovery code like abcd-efgh-jkmn-pqrs."


def _code_field(label="Code"):
    return forms.CharField(
        label=label,
        max_length=32,
        error_messages={"required": "Enter the code.", "max_length": "That is too long to be a code."},
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

    method = forms.ChoiceField(label="Verify with", widget=forms.RadioSelect)
    code = _code_field()

    LABELS = {"totp": "Authenticator app", "recovery": "Recovery code", "email": "Code sent by email"}

    def __init__(self, *args, methods=(), chosen=None, **kwargs):
        """``chosen``: the factor to start on (the one a code was just emailed for), else the first."""
        super().__init__(*args, **kwargs)
        self.fields["method"].choices = [(method, self.LABELS[method]) for method in methods]
        if methods:
            self.fields["method"].initial = chosen if chosen in methods else methods[0]


class ConfirmCodeForm(forms.Form):
    """A code that proves a new factor works (from the app, or from the email just sent)."""

    device = forms.IntegerField(widget=forms.HiddenInput)
    code = _code_field("6-digit code")


class DisableForm(forms.Form):
    """Turning off your own two-factor: a current code, or your password."""

    code = forms.CharField(label="A current code from your app, or a recovery code", required=False, max_length=32)
    password = forms.CharField(label="Or your password", required=False, strip=False, widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if not data.get("code") and not data.get("password"):
            raise forms.ValidationError("Enter a current code or your password.")
        return data
