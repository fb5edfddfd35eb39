"""One validator per session-policy rule, shared by the form and the service."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

SESSION_LIFETIME_MIN_MINUTES = 5
SESSION_LIFETIME_MAX_DAYS = 90


def validate_session_policy(*, long_term, lifetime_seconds):
    """Long-term sessions, or a lifetime from 5 minutes to 90 days, or neither (the panel's default); not both."""
    if lifetime_seconds is None:
        return
    if long_term:
        raise ValidationError(
            _("Choose long-term validity or an expiration time, not both: long-term sessions never time out."),
            code="long_term_and_lifetime",
        )
    if lifetime_seconds < SESSION_LIFETIME_MIN_MINUTES * 60:
        raise ValidationError(
            _("The expiration time must be at least %(minutes)d minutes.") % {"minutes": SESSION_LIFETIME_MIN_MINUTES},
            code="lifetime_too_short",
        )
    if lifetime_seconds > SESSION_LIFETIME_MAX_DAYS * 86400:
        raise ValidationError(
            _("The expiration time can be at most %(days)d days (%(minutes)d minutes).")
            % {"days": SESSION_LIFETIME_MAX_DAYS, "minutes": SESSION_LIFETIME_MAX_DAYS * 24 * 60},
            code="lifetime_too_long",
        )
