"""One validator per session-policy rule, shared by the form and the service."""

from django.core.exceptions import ValidationError

SESSION_LIFETIME_MIN_MINUTES = 5
SESSION_LIFETIME_MAX_DAYS = 90


def validate_session_policy(*, long_term, lifetime_seconds):
    """Long-term sessions, or a lifetime from 5 minutes to 90 days, or neither (the panel's default); not both."""
    if lifetime_seconds is None:
        return
    if long_term:
        raise ValidationError(
            "Choose long-term validity or an expiration time, not both: long-term sessions never time out.",
            code="long_term_and_lifetime",
        )
    if lifetime_seconds < SESSION_LIFETIME_MIN_MINUTES * 60:
        raise ValidationError(
            f"The expiration time must be at least {SESSION_LIFETIME_MIN_MINUTES} minutes.", code="lifetime_too_short"
        )
    if lifetime_seconds > SESSION_LIFETIME_MAX_DAYS * 86400:
        raise ValidationError(
            f"The expiration time can be at most {SESSION_LIFETIME_MAX_DAYS} days "
            f"({SESSION_LIFETIME_MAX_DAYS * 24 * 60} minutes).",
            code="lifetime_too_long",
        )
