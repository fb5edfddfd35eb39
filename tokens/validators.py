"""One validator per token rule, shared by the forms, the API schemas and the services."""

import ipaddress
from datetime import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.templatetags.moments import format_moment
from core.validators import add_years, clean_moment

MAX_LIFETIME_YEARS = 10
MAX_IP_ALLOWLIST_ENTRIES = 100


def latest_expiry(now=None) -> datetime:
    return add_years(now or timezone.now(), MAX_LIFETIME_YEARS)


def validate_token_expiry(expires_at, *, now=None):
    """An expiry is required, in the future, and at most ten years away."""
    if expires_at is None:
        raise ValidationError(_("Choose when the token expires."), code="required")
    now = now or timezone.now()
    if timezone.is_naive(expires_at):
        raise ValidationError(_("The expiry must include a time zone."), code="naive")
    expires_at = clean_moment(expires_at)
    if expires_at <= now:
        raise ValidationError(_("The expiry must be in the future."), code="past")
    latest = latest_expiry(now)
    if expires_at > latest:
        raise ValidationError(
            ngettext(
                "The expiry can be at most %(years)d year away (until %(latest)s).",
                "The expiry can be at most %(years)d years away (until %(latest)s).",
                MAX_LIFETIME_YEARS,
            )
            % {"years": MAX_LIFETIME_YEARS, "latest": format_moment(latest)},
            code="too_far",
        )


def _normalise_ip_entry(entry):
    try:
        network = ipaddress.ip_network(entry, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ValidationError(
                _("“%(entry)s” is not an IPv4 or IPv6 address or CIDR block.") % {"entry": entry}, code="invalid_ip"
            ) from None
        raise ValidationError(
            _("“%(entry)s” has host bits set; did you mean %(network)s?") % {"entry": entry, "network": loose},
            code="host_bits",
        ) from None
    single = network.num_addresses == 1
    return str(network.network_address) if single else str(network)


def clean_ip_allowlist(entries) -> list[str]:
    """The allow-list normalised (``10.0.0.0/8``, ``2001:db8::1``), refusing bad and repeated entries.

    Each message names the entry it is about; all of them are reported at once.
    """
    entries = [str(entry).strip() for entry in entries if str(entry).strip()]
    if len(entries) > MAX_IP_ALLOWLIST_ENTRIES:
        raise ValidationError(
            ngettext(
                "At most %(count)d IP entry is allowed.",
                "At most %(count)d IP entries are allowed.",
                MAX_IP_ALLOWLIST_ENTRIES,
            )
            % {"count": MAX_IP_ALLOWLIST_ENTRIES},
            code="too_many",
        )
    cleaned, errors = [], []
    for entry in entries:
        try:
            normalised = _normalise_ip_entry(entry)
        except ValidationError as error:
            errors.append(error)
            continue
        if normalised in cleaned:
            errors.append(ValidationError(_("“%(entry)s” is listed twice.") % {"entry": entry}, code="duplicate"))
        else:
            cleaned.append(normalised)
    if errors:
        raise ValidationError(errors)
    return cleaned


def ip_allowed(ip, allowlist) -> bool:
    """Whether ``ip`` is on ``allowlist`` (a cleaned list); an empty list allows every address."""
    if not allowlist:
        return True
    if not ip:
        return False
    address = ipaddress.ip_address(ip)
    return any(address in ipaddress.ip_network(entry) for entry in allowlist)
