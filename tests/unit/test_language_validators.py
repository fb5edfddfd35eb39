"""A user's language and time zone (accounts.validators); a typed wall clock read in a zone (core.validators)."""

import datetime
import zoneinfo
from datetime import UTC

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.validators import TIME_ZONE_MAX_LENGTH, validate_language, validate_time_zone
from core.env import time_zone_problem
from core.validators import local_moment


@pytest.mark.parametrize("language", ["", "en", "zh-hans", "zh-hant"])
def test_the_panels_languages_and_blank_are_accepted(language):
    validate_language(language)


@pytest.mark.parametrize("language", ["fr", "zh", "zh-cn", "zh-tw", "zh_Hans", "EN", " en", "en\x00", "e" * 3_000_000])
def test_any_other_language_is_refused(language):
    with pytest.raises(ValidationError) as refusal:
        validate_language(language)
    assert refusal.value.code == "language"
    assert refusal.value.messages == ["Choose one of the panel's languages."]


def test_every_iana_name_this_system_knows_is_accepted_and_fits_the_column():
    for name in zoneinfo.available_timezones():
        validate_time_zone(name)
        assert len(name) <= TIME_ZONE_MAX_LENGTH
    validate_time_zone("")


@pytest.mark.parametrize(
    "name",
    [
        "Asia/Taipe",
        "asia/taipei",
        "ASIA/TAIPEI",
        "Asia/Taipe\u0456",  # Cyrillic і
        "\u0410sia/Taipei",  # Cyrillic А
        "Asia/Taipei\x00",
        " Asia/Taipei",
        "Asia/Taipei" + "x" * (3 * 1024 * 1024),
        "+08:00",
        "UTC+8",
        "CST",
        "/usr/share/zoneinfo/UTC",
        "../UTC",
        "posixrules",
    ],
)
def test_any_other_time_zone_is_refused(name):
    with pytest.raises(ValidationError) as refusal:
        validate_time_zone(name)
    assert refusal.value.code == "time_zone"
    assert time_zone_problem(name) is not None  # PANEL_TIME_ZONE's rule is the same


def _in(zone, *args):
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        return local_moment(datetime.datetime(*args))


def test_a_wall_clock_is_read_in_the_active_zone():
    assert _in("Asia/Taipei", 2031, 5, 1, 18, 30) == datetime.datetime(2031, 5, 1, 10, 30, tzinfo=UTC)
    assert _in("UTC", 2031, 5, 1, 18, 30) == datetime.datetime(2031, 5, 1, 18, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "wall_clock"),
    [
        ("America/New_York", (2031, 3, 9, 2, 30)),  # spring forward
        ("Europe/Berlin", (2031, 3, 30, 2, 15)),
        ("America/Santiago", (2031, 9, 7, 0, 0)),  # a midnight the clocks skip
        ("Australia/Lord_Howe", (2031, 10, 5, 2, 15)),  # a half-hour jump
    ],
)
def test_a_time_the_clocks_skip_is_refused_naming_the_zone(zone, wall_clock):
    with pytest.raises(ValidationError) as refusal:
        _in(zone, *wall_clock)
    assert refusal.value.code == "skipped_time"
    assert zone in refusal.value.messages[0]


def test_a_repeated_time_is_the_earlier():
    # 26 October 2031, Berlin: 02:30 in summer time (+02:00), then in winter time (+01:00).
    assert _in("Europe/Berlin", 2031, 10, 26, 2, 30) == datetime.datetime(2031, 10, 26, 0, 30, tzinfo=UTC)


def test_the_ends_of_the_calendar_are_refused_not_raised():
    with pytest.raises(ValidationError, match="before the year 9999"):
        _in("America/Los_Angeles", 9999, 12, 31, 23, 59)
    with pytest.raises(ValidationError, match="after the year 1"):
        _in("Asia/Tokyo", 1, 1, 1, 0, 0)
    assert _in("Asia/Tokyo", 9999, 12, 31, 23, 59) == datetime.datetime(9999, 12, 31, 14, 59, tzinfo=UTC)
