"""The token rules: the IP allow-list and the expiry bounds."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from core.validators import add_years
from tokens.validators import (
    MAX_IP_ALLOWLIST_ENTRIES,
    clean_ip_allowlist,
    ip_allowed,
    latest_expiry,
    validate_token_expiry,
)

NOW = datetime(2026, 5, 17, 9, 30, 15, tzinfo=UTC)


def _messages(entries):
    with pytest.raises(ValidationError) as caught:
        clean_ip_allowlist(entries)
    return caught.value.messages


def _codes(entries):
    with pytest.raises(ValidationError) as caught:
        clean_ip_allowlist(entries)
    return [error.code for error in caught.value.error_list]


# clean_ip_allowlist


def test_empty_allowlist_is_accepted():
    assert clean_ip_allowlist([]) == []


def test_blank_entries_are_dropped():
    assert clean_ip_allowlist(["", "  ", "192.0.2.1"]) == ["192.0.2.1"]


def test_ipv4_address_is_accepted():
    assert clean_ip_allowlist(["192.0.2.1"]) == ["192.0.2.1"]


def test_ipv6_address_is_accepted_in_compressed_lowercase_form():
    assert clean_ip_allowlist(["2001:DB8:0:0:0:0:0:1"]) == ["2001:db8::1"]


def test_ipv4_cidr_block_is_accepted():
    assert clean_ip_allowlist(["10.0.0.0/8"]) == ["10.0.0.0/8"]


def test_ipv6_cidr_block_is_accepted():
    assert clean_ip_allowlist(["2001:db8::/32"]) == ["2001:db8::/32"]


def test_single_address_block_is_stored_as_the_address():
    assert clean_ip_allowlist(["192.0.2.1/32", "2001:db8::1/128"]) == ["192.0.2.1", "2001:db8::1"]


def test_entries_are_stripped_of_surrounding_spaces():
    assert clean_ip_allowlist([" 192.0.2.1 "]) == ["192.0.2.1"]


def test_mixed_allowlist_keeps_its_order():
    entries = ["2001:db8::5", "192.0.2.1", "198.51.100.0/24"]

    assert clean_ip_allowlist(entries) == entries


@pytest.mark.parametrize("entry", ["nope", "192.0.2", "256.1.1.1", "192.0.2.1/33", "2001:db8::g", "10.0.0.0/8/8"])
def test_invalid_entry_is_refused_with_a_message_naming_it(entry):
    (message,) = _messages([entry])

    assert f"“{entry}”" in message
    assert "not an IPv4 or IPv6 address or CIDR block" in message


def test_every_invalid_entry_is_reported_at_once():
    messages = _messages(["bad-one", "192.0.2.1", "bad-two"])

    assert len(messages) == 2
    assert "“bad-one”" in messages[0]
    assert "“bad-two”" in messages[1]


def test_repeated_entry_is_refused_with_a_message_naming_it():
    assert _messages(["192.0.2.1", "192.0.2.1"]) == ["“192.0.2.1” is listed twice."]


def test_same_ipv6_address_written_two_ways_is_a_duplicate():
    assert _messages(["::1", "0::1"]) == ["“0::1” is listed twice."]


def test_address_and_its_single_address_block_are_duplicates():
    assert _codes(["192.0.2.1", "192.0.2.1/32"]) == ["duplicate"]


def test_same_block_in_different_case_is_a_duplicate():
    assert _codes(["2001:db8::/32", "2001:DB8::/32"]) == ["duplicate"]


def test_block_with_host_bits_set_is_refused_with_the_block_it_probably_means():
    (message,) = _messages(["10.1.2.3/8"])

    assert "“10.1.2.3/8”" in message
    assert "host bits set" in message
    assert "10.0.0.0/8" in message


def test_ipv6_block_with_host_bits_set_is_refused():
    assert _codes(["2001:db8::1/32"]) == ["host_bits"]


def test_allowlist_at_the_entry_limit_is_accepted():
    entries = [f"10.0.{n // 256}.{n % 256}" for n in range(MAX_IP_ALLOWLIST_ENTRIES)]

    assert len(clean_ip_allowlist(entries)) == MAX_IP_ALLOWLIST_ENTRIES


def test_allowlist_over_the_entry_limit_is_refused():
    entries = [f"10.0.{n // 256}.{n % 256}" for n in range(MAX_IP_ALLOWLIST_ENTRIES + 1)]

    assert _messages(entries) == [f"At most {MAX_IP_ALLOWLIST_ENTRIES} IP entries are allowed."]


# ip_allowed


def test_empty_allowlist_allows_any_address():
    assert ip_allowed("203.0.113.9", [])
    assert ip_allowed("2001:db8::9", [])


def test_listed_ipv4_address_is_allowed():
    assert ip_allowed("192.0.2.1", ["192.0.2.1"])


def test_unlisted_ipv4_address_is_not_allowed():
    assert not ip_allowed("192.0.2.2", ["192.0.2.1"])


def test_address_inside_an_ipv4_block_is_allowed():
    assert ip_allowed("198.51.100.200", ["198.51.100.0/24"])


def test_address_outside_an_ipv4_block_is_not_allowed():
    assert not ip_allowed("198.51.101.1", ["198.51.100.0/24"])


def test_listed_ipv6_address_is_allowed():
    assert ip_allowed("2001:db8::5", ["2001:db8::5"])


def test_address_inside_an_ipv6_block_is_allowed():
    assert ip_allowed("2001:db8:1:2::5", ["2001:db8::/32"])


def test_address_outside_an_ipv6_block_is_not_allowed():
    assert not ip_allowed("2001:db9::5", ["2001:db8::/32"])


def test_ipv4_address_is_not_matched_by_an_ipv6_block():
    assert not ip_allowed("192.0.2.1", ["::/0"])


def test_any_listed_entry_allows_the_address():
    assert ip_allowed("2001:db8::5", ["192.0.2.1", "2001:db8::/64"])


def test_unknown_address_is_not_allowed_by_a_non_empty_list():
    assert not ip_allowed(None, ["192.0.2.1"])


# validate_token_expiry


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _expiry_code(expires_at):
    with pytest.raises(ValidationError) as caught:
        validate_token_expiry(expires_at)
    return caught.value.code


def test_expiry_is_required(frozen):
    assert _expiry_code(None) == "required"


def test_expiry_of_now_is_refused(frozen):
    assert _expiry_code(NOW) == "past"


def test_expiry_in_the_past_is_refused(frozen):
    assert _expiry_code(NOW - timedelta(days=1)) == "past"


def test_expiry_one_second_ahead_is_accepted(frozen):
    validate_token_expiry(NOW + timedelta(seconds=1))


def test_expiry_exactly_ten_years_ahead_is_accepted(frozen):
    validate_token_expiry(NOW.replace(year=NOW.year + 10))


def test_expiry_ten_years_and_a_day_ahead_is_refused(frozen):
    assert _expiry_code(NOW.replace(year=NOW.year + 10) + timedelta(days=1)) == "too_far"


def test_expiry_ten_years_and_a_second_ahead_is_refused(frozen):
    assert _expiry_code(NOW.replace(year=NOW.year + 10) + timedelta(seconds=1)) == "too_far"


def test_too_far_expiry_message_gives_the_latest_allowed_moment(frozen):
    with pytest.raises(ValidationError) as caught:
        validate_token_expiry(NOW.replace(year=NOW.year + 11))

    assert caught.value.messages == ["The expiry can be at most 10 years away (until 2036-05-17 09:30 UTC)."]


def test_naive_expiry_is_refused(frozen):
    assert _expiry_code(datetime(2027, 1, 1, 12, 0)) == "naive"


def test_expiry_in_another_time_zone_is_compared_as_the_same_moment(frozen):
    latest_in_tokyo = NOW.replace(year=NOW.year + 10).astimezone(ZoneInfo("Asia/Tokyo"))

    validate_token_expiry(latest_in_tokyo)
    with pytest.raises(ValidationError):
        validate_token_expiry(latest_in_tokyo + timedelta(seconds=1))


def test_expiry_is_checked_against_the_given_now():
    now = datetime(2030, 1, 1, tzinfo=UTC)

    validate_token_expiry(datetime(2039, 12, 31, tzinfo=UTC), now=now)
    with pytest.raises(ValidationError):
        validate_token_expiry(datetime(2029, 12, 31, tzinfo=UTC), now=now)


# add_years and latest_expiry


def test_add_years_keeps_the_calendar_moment():
    assert add_years(NOW, 10) == datetime(2036, 5, 17, 9, 30, 15, tzinfo=UTC)


def test_add_years_from_29_february_to_a_common_year_gives_28_february():
    assert add_years(datetime(2024, 2, 29, 8, 0, tzinfo=UTC), 10) == datetime(2034, 2, 28, 8, 0, tzinfo=UTC)


def test_add_years_from_29_february_to_a_leap_year_keeps_29_february():
    assert add_years(datetime(2024, 2, 29, 8, 0, tzinfo=UTC), 4) == datetime(2028, 2, 29, 8, 0, tzinfo=UTC)


def test_latest_expiry_is_ten_years_from_now(frozen):
    assert latest_expiry() == datetime(2036, 5, 17, 9, 30, 15, tzinfo=UTC)


def test_on_29_february_an_expiry_on_1_march_ten_years_on_is_refused():
    with time_machine.travel(datetime(2024, 2, 29, 8, 0, tzinfo=UTC), tick=False):
        validate_token_expiry(datetime(2034, 2, 28, 8, 0, tzinfo=UTC))
        assert _expiry_code(datetime(2034, 3, 1, 8, 0, tzinfo=UTC)) == "too_far"
