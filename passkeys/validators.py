"""One validator per passkey rule, shared by the registration form, the service and the API."""

from django.core.exceptions import ValidationError

from passkeys.models import NAME_MAX_LENGTH


def clean_passkey_name(value) -> str:
    """A passkey's name, trimmed: required, at most 64 characters, printable."""
    name = str(value or "").strip()
    if not name:
        raise ValidationError("Give the passkey a name, such as the device it is on.", code="required")
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(f"The name must be at most {NAME_MAX_LENGTH} characters long.", code="max_length")
    if not name.isprintable():
        raise ValidationError("The name may not contain control characters.", code="control_characters")
    return name


def validate_passkey_name_free(name, *, user):
    """A user's passkeys have different names, so that the list and the audit log tell them apart."""
    if user.passkeys.filter(name__iexact=name).exists():
        raise ValidationError(f"You already have a passkey named “{name}”.", code="name_taken")
