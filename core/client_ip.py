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
