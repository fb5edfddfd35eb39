import re
from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.forms import moment_field, untouched_moment
from tokens.validators import clean_ip_allowlist, validate_token_expiry

DEFAULT_LIFETIME = timedelta(days=90)


class TokenForm(forms.Form):
    """Name, IP allow-list and expiry of a token: for creating one and for modifying it."""

    name = forms.CharField(label="Name", max_length=64, required=False, help_text="Optional: what the token is for.")
    ip_allowlist = forms.CharField(
        label="IP white list",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "placeholder": "203.0.113.7\n10.0.0.0/8"}),
        help_text="One IPv4 or IPv6 address or CIDR block per line. Empty allows any address.",
    )
    expires_at = moment_field("Expires at (UTC)", help_text="At most 10 years from now.")
    long_term = forms.BooleanField(label="Long-term: expire in 10 years, the longest allowed", required=False)

    @classmethod
    def for_new_token(cls, data=None):
        default_expiry = (timezone.now() + DEFAULT_LIFETIME).replace(second=0, microsecond=0)
        return cls(data, initial={"expires_at": default_expiry})

    @classmethod
    def for_token(cls, token, data=None):
        initial = {"name": token.name, "ip_allowlist": "\n".join(token.ip_allowlist), "expires_at": token.expires_at}
        return cls(data, initial=initial)

    def clean_expires_at(self):
        return untouched_moment(self.cleaned_data["expires_at"], self.initial.get("expires_at"))

    def clean_ip_allowlist(self):
        entries = re.split(r"[\s,]+", self.cleaned_data["ip_allowlist"])
        return clean_ip_allowlist(entries)

    def clean(self):
        data = super().clean()
        if data.get("long_term") or "expires_at" in self.errors:
            return data
        try:
            validate_token_expiry(data.get("expires_at"))
        except ValidationError as error:
            self.add_error("expires_at", error)
        return data
