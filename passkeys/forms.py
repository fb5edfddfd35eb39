from django import forms
from django.utils.translation import gettext_lazy as _

from passkeys.models import NAME_MAX_LENGTH
from passkeys.validators import clean_passkey_name


class PasskeyNameForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=NAME_MAX_LENGTH,
        help_text=_("Something that tells you which device or password manager holds it, such as “Work laptop”."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
        error_messages={"required": _("Give the passkey a name, such as the device it is on.")},
    )

    def clean_name(self):
        return clean_passkey_name(self.cleaned_data["name"])
