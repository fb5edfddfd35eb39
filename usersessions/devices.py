"""A short description of the device behind a session, from its User-Agent header (ua-parser)."""

import functools

import ua_parser
from django.utils.translation import gettext as _


@functools.lru_cache(maxsize=512)
def _parsed(user_agent: str):
    """The (browser, system, device) families of ``user_agent``: parsing is the slow part, so it is cached."""
    parsed = ua_parser.parse(user_agent).with_defaults()
    return parsed.user_agent.family, parsed.os.family, parsed.device.family


def describe(user_agent: str) -> str:
    """ "Chrome on Linux", "Mobile Safari on iOS (iPhone)"; "Unknown device" when the header says nothing.

    Worded in the active language, so not cached itself.
    """
    if not user_agent:
        return _("Unknown device")
    browser, system, device = _parsed(user_agent)
    if browser == "Other" and system == "Other":
        return _("Unknown device")
    # Translators: a browser and its operating system, e.g. "Chrome on Linux".
    label = browser if system == "Other" else _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    if device not in ("Other", "Mac", "Generic Smartphone") and device not in label:
        # Translators: a device description followed by the device's model, e.g. "Mobile Safari on iOS (iPhone)".
        label = _("%(label)s (%(device)s)") % {"label": label, "device": device}
    return label
