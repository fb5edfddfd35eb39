"""A user's own language and time zone (README's "Languages and time zones"): the service that saves them.

accounts.services re-exports ``user_set_preferences``: views, the API and commands call it from there.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.validators import validate_language, validate_time_zone
from core.audit import record
from core.locks import lock_user

_RULES = {"language": validate_language, "time_zone": validate_time_zone}


def user_set_preferences(*, origin, user, language, time_zone):
    """Save ``user``'s ``language`` ("" follows the browser) and ``time_zone`` ("" is PANEL_TIME_ZONE).

    A refused value is an error of its field (both fields' at once), and nothing is saved.
    """
    wanted, refusals = {}, {}
    for field, value in (("language", language), ("time_zone", time_zone)):
        try:
            wanted[field] = _clean(value, _RULES[field])
        except ValidationError as error:
            refusals[field] = error.messages
    if refusals:
        raise ValidationError(refusals)
    changes = {
        field: {"from": getattr(user, field), "to": value}
        for field, value in wanted.items()
        if getattr(user, field) != value
    }
    if not changes:
        return user
    with transaction.atomic():
        lock_user(user)
        for field, change in changes.items():
            setattr(user, field, change["to"])
        user.save(update_fields=list(changes))
        record(origin=origin, action="user.preferences", target=user, details={"changes": changes})
    return user


def _clean(value, validate):
    if not isinstance(value, str):
        raise ValidationError(_("Enter a valid value."), code="invalid")
    value = value.strip()
    validate(value)
    return value
