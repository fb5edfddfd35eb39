import re
from datetime import timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import moment_field, untouched_moment
from tokens import selectors
from tokens.validators import clean_ip_allowlist, validate_token_expiry

DEFAULT_LIFETIME = timedelta(days=90)
ACCESS_CHOICES = [
    ("all", _("Everything I may do: all of the owner's permissions, as they change")),
    ("read_only", _("Read-only: the see-only permissions the owner holds (view_…)")),
    ("chosen", _("Only the permissions ticked below")),
]


class TokenForm(forms.Form):
    """Name, IP allow-list, expiry and permissions of a token: for creating one and for modifying it.

    ``permissions`` in the cleaned data is None (all of the owner's) or the names chosen; "read-only"
    picks the owner's view_ permissions without JavaScript.
    """

    name = forms.CharField(
        label=_("Name"), max_length=64, required=False, help_text=_("Optional: what the token is for.")
    )
    ip_allowlist = forms.CharField(
        label=_("IP white list"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "placeholder": "203.0.113.7\n10.0.0.0/8"}),
        help_text=_("One IPv4 or IPv6 address or CIDR block per line. Empty allows any address."),
    )
    expires_at = moment_field(_("Expires at"), help_text=_("At most 10 years from now."))
    long_term = forms.BooleanField(label=_("Long-term: expire in 10 years, the longest allowed"), required=False)
    access = forms.ChoiceField(
        label=_("What it may do"), choices=ACCESS_CHOICES, widget=forms.RadioSelect, required=False
    )
    permissions = forms.MultipleChoiceField(
        label=_("Permissions"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Never more than the owner holds at each request. Changing them asks for your password."),
    )

    def __init__(self, *args, owner, **kwargs):
        super().__init__(*args, **kwargs)
        self.owner = owner
        self.fields["permissions"].choices = selectors.token_permission_choices(owner=owner)

    @classmethod
    def for_new_token(cls, data=None, *, owner):
        default_expiry = (timezone.now() + DEFAULT_LIFETIME).replace(second=0, microsecond=0)
        return cls(data, owner=owner, initial={"expires_at": default_expiry, "access": "all"})

    @classmethod
    def for_token(cls, token, data=None):
        initial = {
            "name": token.name,
            "ip_allowlist": "\n".join(token.ip_allowlist),
            "expires_at": token.expires_at,
            "access": "all" if token.permissions is None else "chosen",
            "permissions": token.permissions or [],
        }
        return cls(data, owner=token.user, initial=initial)

    def clean_expires_at(self):
        return untouched_moment(self.cleaned_data["expires_at"], self.initial.get("expires_at"))

    def clean_ip_allowlist(self):
        entries = re.split(r"[\s,]+", self.cleaned_data["ip_allowlist"])
        return clean_ip_allowlist(entries)

    def clean(self):
        data = super().clean()
        access = data.pop("access", "")
        if not access:
            data.pop("permissions", None)  # not chosen: a token keeps its permissions (a new one gets all)
        elif access == "all":
            data["permissions"] = None
        elif access == "read_only":
            data["permissions"] = selectors.read_only_permissions(owner=self.owner)
        if data.get("long_term") or "expires_at" in self.errors:
            return data
        try:
            validate_token_expiry(data.get("expires_at"))
        except ValidationError as error:
            self.add_error("expires_at", error)
        return data
