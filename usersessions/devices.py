"""A short description of the device behind a session, from its User-Agent header (ua-parser)."""

import functools

import ua_parser


@functools.lru_cache(maxsize=512)
def describe(user_agent: str) -> str:
    """ "Chrome on Linux", "Mobile Safari on iOS (iPhone)"; "Unknown device" when the header says nothing."""
    if not user_agent:
        return "Unknown device"
    parsed = ua_parser.parse(user_agent).with_defaults()
    browser, system, device = parsed.user_agent.family, parsed.os.family, parsed.device.family
    if browser == "Other" and system == "Other":
        return "Unknown device"
    label = browser if system == "Other" else f"{browser} on {system}"
    if device not in ("Other", "Mac", "Generic Smartphone") and device not in label:
        label += f" ({device})"
    return label
