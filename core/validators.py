"""Rules shared by every app."""

from django.core.exceptions import ValidationError


def clean_name(value, *, max_length, required_message) -> str:
    """A name people give something (a company, a passkey), trimmed: required, at most ``max_length``, printable."""
    name = str(value or "").strip()
    if not name:
        raise ValidationError(required_message, code="required")
    if len(name) > max_length:
        raise ValidationError(f"The name must be at most {max_length} characters long.", code="max_length")
    if not name.isprintable():
        raise ValidationError("The name may not contain control characters.", code="control_characters")
    return name
