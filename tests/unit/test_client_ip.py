"""The client IP: X-Forwarded-For counts only when the peer is a trusted proxy."""

import ipaddress

import pytest
from django.test import RequestFactory, override_settings

from core.client_ip import get_client_ip
from core.models import AuditEvent


def _networks(*cidrs):
    return [ipaddress.ip_network(cidr) for cidr in cidrs]


def _request(remote_addr, forwarded_for=None):
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, headers=headers)


PROXY = "10.0.0.5"
TRUSTED = _networks("10.0.0.0/24")


@override_settings(PANEL_TRUSTED_PROXIES=TRUSTED)
def test_peer_address_is_the_client_when_there_is_no_forwarded_header():
    assert get_client_ip(_request("203.0.113.7")) == "203.0.113.7"


@override_settings(PANEL_TRUSTED_PROXIES=TRUSTED)
def test_forwarded_header_from_an_untrusted_peer_is_ignored():
    assert get_client_ip(_request("203.0.113.7", "198.51.100.1")) == "203.0.113.7"


@override_settings(PANEL_TRUSTED_PROXIES=[])
def test_forwarded_header_is_ignored_when_no_proxy_is_trusted():
    assert get_client_ip(_request("10.0.0.5", "198.51.100.1")) == "10.0.0.5"


@override_settings(PANEL_TRUSTED_PROXIES=TRUSTED)
def test_trusted_proxy_passes_on_the_address_it_saw():
    assert get_client_ip(_request(PROXY, "198.51.100.1")) == "198.51.100.1"


@override_settings(PANEL_TRUSTED_PROXIES=TRUSTED)
def test_address_a_client_prepends_to_the_forwarded_header_is_ignored():
    # The client sent "X-Forwarded-For: 1.1.1.1"; the proxy appended the address it saw.
    assert get_client_ip(_request(PROXY, "1.1.1.1, 198.51.100.1")) == "198.51.100.1"


@override_settings(PANEL_TRUSTED_PROXIES=_networks("10.0.0.0/24", "192.0.2.10/32"))
def test_chain_of_two_trusted_proxies_yields_the_address_the_outer_proxy_saw():
    # client -> 192.0.2.10 (edge proxy) -> 10.0.0.5 (local proxy) -> panel
    request = _request(PROXY, "1.1.1.1, 198.51.100.1, 192.0.2.10")
    assert get_client_ip(request) == "198.51.100.1"


@override_settings(PANEL_TRUSTED_PROXIES=TRUSTED)
def test_forwarded_entries_are_read_without_surrounding_spaces():
    assert get_client_ip(_request(PROXY, "  198.51.100.1  ")) == "198.51.100.1"


@override_settings(PANEL_TRUSTED_PROXIES=TRUSTED)
def test_only_trusted_proxies_in_the_chain_yield_the_leftmost_of_them():
    assert get_client_ip(_request(PROXY, "10.0.0.9, 10.0.0.8")) == "10.0.0.9"


@override_settings(PANEL_TRUSTED_PROXIES=_networks("2001:db8:1::/48"))
def test_ipv6_trusted_proxy_passes_on_an_ipv6_client():
    assert get_client_ip(_request("2001:db8:1::2", "2001:db8:ffff::abcd")) == "2001:db8:ffff::abcd"


@override_settings(PANEL_TRUSTED_PROXIES=_networks("2001:db8:1::/48"))
def test_ipv6_addresses_are_given_in_compressed_form():
    assert get_client_ip(_request("2001:0db8:0001:0000:0000:0000:0000:0002", "2001:0db8:ffff::00ab")) == (
        "2001:db8:ffff::ab"
    )


@override_settings(PANEL_TRUSTED_PROXIES=_networks("2001:db8:1::/48"))
def test_ipv6_peer_outside_the_trusted_networks_is_the_client():
    assert get_client_ip(_request("2001:db8:2::1", "198.51.100.1")) == "2001:db8:2::1"


@override_settings(PANEL_TRUSTED_PROXIES=TRUSTED)
def test_ipv4_mapped_peer_matches_a_trusted_ipv4_network():
    # A server listening on [::] sees IPv4 proxies as ::ffff:a.b.c.d.
    assert get_client_ip(_request("::ffff:10.0.0.5", "198.51.100.1")) == "198.51.100.1"


def test_ipv4_mapped_untrusted_peer_is_reported_as_ipv4():
    assert get_client_ip(_request("::ffff:198.51.100.7", "6.6.6.6")) == "198.51.100.7"


@override_settings(PANEL_TRUSTED_PROXIES=TRUSTED)
@pytest.mark.parametrize(
    "forwarded_for",
    [
        pytest.param("", id="empty"),
        pytest.param("garbage", id="word"),
        pytest.param("unknown", id="unknown"),
        pytest.param("198.51.100.1:4711", id="ipv4-with-port"),
        pytest.param("[2001:db8::1]:443", id="bracketed-ipv6-with-port"),
        pytest.param("999.1.1.1", id="octet-out-of-range"),
        pytest.param("198.51.100.1/32", id="cidr"),
        pytest.param(",,,", id="only-commas"),
        pytest.param("1.1.1.1, garbage", id="garbage-after-a-forged-entry"),
        pytest.param("\x00", id="nul"),
    ],
)
def test_unreadable_entry_next_to_the_trusted_proxy_leaves_the_proxy_as_the_client(forwarded_for):
    assert get_client_ip(_request(PROXY, forwarded_for)) == PROXY


@override_settings(PANEL_TRUSTED_PROXIES=TRUSTED)
def test_garbage_left_of_a_readable_client_entry_is_ignored():
    assert get_client_ip(_request(PROXY, "garbage, 198.51.100.1")) == "198.51.100.1"


@override_settings(PANEL_TRUSTED_PROXIES=TRUSTED)
@pytest.mark.parametrize("remote_addr", ["", "garbage", "localhost"])
def test_unreadable_peer_address_gives_no_client_ip(remote_addr):
    assert get_client_ip(_request(remote_addr, "198.51.100.1")) is None


@pytest.mark.django_db
@override_settings(PANEL_TRUSTED_PROXIES=[])
def test_failed_login_with_forged_forwarded_header_from_untrusted_peer_records_the_peer_address(client):
    client.post(
        "/login/",
        {"username": "nobody", "password": "Wrong-pass-1"},
        REMOTE_ADDR="203.0.113.7",
        headers={"X-Forwarded-For": "1.1.1.1"},
    )
    event = AuditEvent.objects.get(action="auth.login", outcome=AuditEvent.Outcome.FAILURE)
    assert event.ip == "203.0.113.7"


@pytest.mark.django_db
@override_settings(PANEL_TRUSTED_PROXIES=_networks("127.0.0.1/32"))
def test_failed_login_through_a_trusted_proxy_records_the_forwarded_client_address(client):
    client.post(
        "/login/",
        {"username": "nobody", "password": "Wrong-pass-1"},
        REMOTE_ADDR="127.0.0.1",
        headers={"X-Forwarded-For": "1.1.1.1, 198.51.100.1"},
    )
    event = AuditEvent.objects.get(action="auth.login", outcome=AuditEvent.Outcome.FAILURE)
    assert event.ip == "198.51.100.1"
