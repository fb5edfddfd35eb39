"""The login guard's keys and policies: addresses per IPv6 /64, names folded as ASCII only, a device's own counter."""

import pytest

from core import throttle
from core.client_ip import throttle_key


@pytest.mark.parametrize(
    ("ip", "key"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2::10", "2001:db8:1:2::/64"),
        ("2001:0db8:0001:0002:ffff:eeee:dddd:cccc", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        (None, "unknown"),
        ("", "unknown"),
    ],
)
def test_an_address_is_counted_per_ipv4_address_and_per_ipv6_64(ip, key):
    assert throttle_key(ip) == key


@pytest.mark.parametrize(("typed", "key"), [("Alice", "alice"), ("  BOB-1_x ", "bob-1_x")])
def test_an_ascii_name_folds_to_lower_case(typed, key):
    assert throttle.account_key(typed) == key


@pytest.mark.parametrize("typed", ["admın", "ſubadmin", "ａｄｍｉｎ", "ADMİN", "Ålice"])
def test_every_non_ascii_name_shares_one_key_that_no_account_has(typed):
    assert throttle.account_key(typed) == throttle.NON_ASCII_ACCOUNT


def _fail(times, *, device=None, ip="192.0.2.1"):
    for _ in range(times):
        throttle.IP_GUARD.reset(ip)
        throttle.record_failure(origin=None, username="alice", ip=ip, device=device)


def test_failures_with_a_device_wait_on_the_device_not_on_the_account():
    _fail(5, device="nonce-1")

    assert throttle.wait_seconds(username="alice", ip="192.0.2.2") == 0
    assert throttle.wait_seconds(username="alice", ip="192.0.2.2", device="nonce-1") > 0
    assert throttle.wait_seconds(username="alice", ip="192.0.2.2", device="nonce-2") == 0


def test_failures_without_a_device_do_not_make_a_device_wait():
    _fail(5)

    assert throttle.wait_seconds(username="alice", ip="192.0.2.2") > 0
    assert throttle.wait_seconds(username="alice", ip="192.0.2.2", device="nonce-1") == 0


def test_a_device_still_waits_for_its_address():
    throttle.IP_GUARD.reset("192.0.2.1")
    for _ in range(throttle.IP_GUARD.free_failures + 1):
        throttle.IP_GUARD.fail("192.0.2.1")

    assert throttle.wait_seconds(username="alice", ip="192.0.2.1", device="nonce-1") > 0


def test_a_wait_is_listed_and_leaves_the_list_when_lifted():
    _fail(5, device="nonce-1")
    _fail(5)

    (lock,) = throttle.current_locks()

    assert (lock.kind, lock.name, lock.failures, lock.browsers) == ("account", "alice", 5, 1)
    throttle.ACCOUNT_GUARD.reset("alice")
    throttle.DEVICE_GUARD.reset("alice#nonce-1")
    assert throttle.current_locks() == []
