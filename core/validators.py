"""Rules shared by every app."""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

# The widest offset any real time zone uses (Kiribati, UTC+14); beyond it a client sent nonsense.
MAX_UTC_OFFSET = datetime.timedelta(hours=14)


def clean_name(value, *, max_length, required_message) -> str:
    """A name people give something (a company, a passkey), trimmed: required, at most ``max_length``, printable."""
    name = str(value or "").strip()
    if not name:
        raise ValidationError(required_message, code="required")
    if len(name) > max_length:
        message = ngettext(
            "The name must be at most %(max_length)d character long.",
            "The name must be at most %(max_length)d characters long.",
            max_length,
        )
        raise ValidationError(message % {"max_length": max_length}, code="max_length")
    if not name.isprintable():
        raise ValidationError(_("The name may not contain control characters."), code="control_characters")
    return name


def add_years(moment: datetime.datetime, years: int) -> datetime.datetime:
    """The same calendar moment ``years`` later; 29 February becomes 28 February."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def clean_moment(value: datetime.datetime) -> datetime.datetime:
    """A date and time as every form, API field and command takes it: aware, within ±14:00 of UTC, in UTC.

    Converting to UTC here, not in the database, means a moment that UTC cannot hold (year 9999 at
    -12:00 is year 10000 in UTC, which the database would store and never read back) is refused.
    """
    if timezone.is_naive(value):
        raise ValidationError(_("The moment must include a time zone."), code="naive")
    if abs(value.utcoffset()) > MAX_UTC_OFFSET:
        raise ValidationError(_("The time zone offset must be within ±14:00 of UTC."), code="offset")
    try:
        return value.astimezone(datetime.UTC)
    except OverflowError:
        raise ValidationError(_("Choose a moment before the year 9999."), code="out_of_range") from None


def unstorable(text: str) -> bool:
    """Whether ``text`` holds a character no database here can store: NUL (PostgreSQL's text refuses
    it) or one not encodable as UTF-8 (a lone surrogate from a JSON escape)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
