"""Which relying party a request's passkey ceremonies belong to, or why passkeys are unavailable there.

Browsers offer WebAuthn only in a secure context (HTTPS, or http://localhost),
bind every credential to an RP ID (a domain name, never an IP address) and
report the page's origin, which the server must check. The RP ID and origins
come from PANEL_PASSKEY_RP_ID / PANEL_PASSKEY_ORIGINS; unset, the request's own
host is used, but only when ALLOWED_HOSTS names it exactly, so that a forged
Host header cannot choose the RP ID.
"""

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http.request import split_domain_port
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import conf


class PasskeysUnavailable(Exception):
    """Passkeys cannot be used on this connection; the message tells the user why."""


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origins: tuple[str, ...]


NEEDS_HTTPS = gettext_lazy(
    "Passkeys need a trusted HTTPS connection. Open the panel over https:// (served directly, "
    "or through a reverse proxy that terminates TLS), or at http://localhost for development."
)


def is_localhost(hostname) -> bool:
    return hostname == "localhost" or hostname.endswith(".localhost")


def _is_ip_address(hostname) -> bool:
    try:
        ipaddress.ip_address(hostname.strip("[]"))
    except ValueError:
        return False
    return True


def origin_problem(origin, rp_id):
    """What is wrong with ``origin`` as an origin of ``rp_id``, or None."""
    parts = urlsplit(origin)
    hostname = parts.hostname or ""
    if not rp_id or _is_ip_address(rp_id):
        return f"the RP ID must be a domain name, not {rp_id!r}."
    if parts.scheme not in ("https", "http") or parts.path or parts.query or parts.fragment or not hostname:
        return f"{origin!r} is not an origin such as https://panel.example.com."
    if parts.scheme == "http" and not is_localhost(hostname):
        return f"{origin!r} is not HTTPS; browsers allow passkeys over plain HTTP only on localhost."
    if hostname != rp_id and not hostname.endswith("." + rp_id):
        return f"{origin!r} is not on the RP ID {rp_id!r} or one of its subdomains."
    return None


def for_request(request) -> RelyingParty:
    """The relying party for ceremonies started from ``request``; raises PasskeysUnavailable."""
    host = request.get_host()  # already checked against ALLOWED_HOSTS
    hostname, _port = split_domain_port(host)
    origin = f"{request.scheme}://{host}".lower()  # scheme honours SECURE_PROXY_SSL_HEADER
    if not (request.is_secure() or is_localhost(hostname)):
        raise PasskeysUnavailable(NEEDS_HTTPS)
    if settings.PANEL_PASSKEY_RP_ID:
        if origin not in settings.PANEL_PASSKEY_ORIGINS:
            allowed = ", ".join(settings.PANEL_PASSKEY_ORIGINS)
            raise PasskeysUnavailable(
                _("Passkeys are set up for %(origins)s; open the panel there to use them.") % {"origins": allowed}
            )
        return RelyingParty(settings.PANEL_PASSKEY_RP_ID, settings.PANEL_NAME, tuple(settings.PANEL_PASSKEY_ORIGINS))
    if _is_ip_address(hostname):
        raise PasskeysUnavailable(
            _("Passkeys need a domain name: browsers refuse them on an IP address. Open the panel by its name.")
        )
    if hostname not in (allowed.lower() for allowed in settings.ALLOWED_HOSTS):
        raise PasskeysUnavailable(
            _(
                "Passkeys are not set up for this address: an operator must set PANEL_PASSKEY_RP_ID "
                "(see README, Passkeys)."
            )
        )
    return RelyingParty(hostname, settings.PANEL_NAME, (origin,))


def configured():
    """PANEL_PASSKEY_RP_ID and PANEL_PASSKEY_ORIGINS, checked against each other; ("", []) when unset.

    Either may be given alone: the RP ID defaults to the first origin's host, the
    origins to https://<RP ID>. Both are listed in core.conf.CATALOGUE; they are checked
    here because core imports no app.
    """
    rp_id = conf.value("PANEL_PASSKEY_RP_ID").strip().lower()
    origins = [origin.rstrip("/").lower() for origin in conf.value("PANEL_PASSKEY_ORIGINS")]
    if not rp_id and not origins:
        return "", []
    if not rp_id:
        rp_id = urlsplit(origins[0]).hostname or ""
    origins = origins or [f"https://{rp_id}"]
    for origin in origins:
        problem = origin_problem(origin, rp_id)
        if problem:
            raise ImproperlyConfigured(f"PANEL_PASSKEY_RP_ID / PANEL_PASSKEY_ORIGINS: {problem}")
    return rp_id, origins
