"""One validator per passkey rule, shared by the registration form, the service and the API."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from core.validators import clean_name
from passkeys.models import NAME_MAX_LENGTH


def clean_passkey_name(value) -> str:
    """A passkey's name, trimmed: required, at most 64 characters, printable."""
    return clean_name(
        value, max_length=NAME_MAX_LENGTH, required_message=_("Give the passkey a name, such as the device it is on.")
    )


def validate_passkey_name_free(name, *, user):
    """A user's passkeys have different names, so that the list and the audit log tell them apart."""
    if user.passkeys.filter(name__iexact=name).exists():
        raise ValidationError(_("You already have a passkey named “%(name)s”.") % {"name": name}, code="name_taken")
