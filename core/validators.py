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


def local_moment(naive: datetime.datetime) -> datetime.datetime:
    """A date and time typed as a wall clock in the active time zone (the user's, else PANEL_TIME_ZONE), in UTC.

    A time the clocks skip (a DST gap, such as 02:30 when they jump from 02:00 to 03:00) is refused, naming
    the zone; one they show twice (a fold, when they go back) is the earlier of the two. A moment outside
    what UTC can hold (year 9999 west of UTC, year 1 east of it) is refused too.
    """
    zone = timezone.get_current_timezone()
    try:
        # In UTC: an aware time in a fold never equals one in another zone (PEP 495), which would puzzle callers.
        moment = naive.replace(tzinfo=zone, fold=0).astimezone(datetime.UTC)
        # zoneinfo gives a skipped time an offset anyway: such a time does not come back from UTC unchanged.
        again = moment.astimezone(zone).replace(tzinfo=None)
    except OverflowError:
        if naive.year > 1:
            raise ValidationError(_("Choose a moment before the year 9999."), code="out_of_range") from None
        raise ValidationError(_("Choose a moment after the year 1."), code="out_of_range") from None
    if again != naive.replace(fold=0):
        raise ValidationError(
            # Translators: %(moment)s is a typed date and time (2026-03-08 02:30), %(zone)s an IANA time zone name.
            _("%(moment)s does not exist in %(zone)s: the clocks skip it. Choose another time.")
            % {"moment": naive.strftime("%Y-%m-%d %H:%M"), "zone": timezone.get_current_timezone_name()},
            code="skipped_time",
        )
    return moment


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
