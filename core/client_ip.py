"""The client's IP address, trusting X-Forwarded-For only from configured proxies.

django-ipware decides trust from the addresses inside X-Forwarded-For, not from
the peer that sent the header, so it cannot express "ignore the header unless
the connection comes from our proxy". This module does that check itself: the
peer (REMOTE_ADDR) must be in PANEL_TRUSTED_PROXIES, and the forwarded chain is
read from the right, skipping further trusted proxies, so a client cannot
prepend a forged address.
"""

import ipaddress

from django.conf import settings


def _parse(value):
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # A dual-stack socket shows IPv4 peers as ::ffff:a.b.c.d; compare them as IPv4.
    return getattr(address, "ipv4_mapped", None) or address


def _is_trusted_proxy(address):
    return any(address in network for network in settings.PANEL_TRUSTED_PROXIES)


def from_trusted_proxy(request) -> bool:
    """Whether the connection comes from one of PANEL_TRUSTED_PROXIES, whose headers the panel believes."""
    peer = _parse(request.META.get("REMOTE_ADDR", ""))
    return peer is not None and _is_trusted_proxy(peer)


def get_client_ip(request):
    """The best-known client address as a string, or None if the peer gave none."""
    peer = _parse(request.META.get("REMOTE_ADDR", ""))
    if peer is None:
        return None
    if not _is_trusted_proxy(peer):
        return str(peer)
    client = peer
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _parse(hop)
        if address is None:
            break
        client = address
        if not _is_trusted_proxy(address):
            break
    return str(client)


def throttle_key(ip) -> str:
    """The key a client address is counted under by the throttles: one per IPv4 address, one per IPv6 /64.

    An IPv6 subscriber usually gets a whole /64 (2**64 addresses), so counting single IPv6 addresses
    would give each client endless fresh counters. No address counts as "unknown"; text that is no
    address (it never comes from get_client_ip) is kept as given.
    """
    if not ip:
        return "unknown"
    address = _parse(str(ip))
    if address is None:
        return str(ip)[:64]
    if address.version == 6:
        return str(ipaddress.ip_network((address, 64), strict=False))
    return str(address)
