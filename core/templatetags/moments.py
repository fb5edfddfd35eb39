"""``{% moment value %}``: how every page shows a date and time, the way its inputs take one.

24-hour, ``YYYY-MM-DD HH:MM``, in the active time zone (the user's own, else PANEL_TIME_ZONE: see
core.localisation) named by its IANA name: ``2026-03-01 22:05 Asia/Taipei``, ``2026-03-01 14:05 UTC``.
An IANA name, not an abbreviation: ``CST`` is the USA's, China's and Cuba's. Inside a ``<time>`` element
whose ``datetime`` is the exact instant, in UTC. ``{{ value|moment_text }}`` is the same text without the
element, for plain-text emails; Python code calls ``format_moment``.
"""

import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html

register = template.Library()


def format_moment(value, *, seconds=False):
    """``value`` (an aware datetime) as text in the active time zone, named: ``2026-03-01 22:05 Asia/Taipei``.

    A moment the zone cannot hold (9999-12-31 23:00 UTC is in the year 10000 at Asia/Taipei) is shown in UTC.
    """
    shape = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    try:
        local = timezone.localtime(value)
        zone = timezone.get_current_timezone_name()
    except OverflowError:
        local, zone = value.astimezone(datetime.UTC), "UTC"
    return f"{local.strftime(shape)} {zone}"


@register.simple_tag
def moment(value, *, seconds=False, stacked=False):
    """``value`` in a ``<time>`` element; ``stacked`` lets a narrow column put the time under the date."""
    if value is None:
        return ""
    element = '<time class="stacked" datetime="{}">{}</time>' if stacked else '<time datetime="{}">{}</time>'
    return format_html(element, value.astimezone(datetime.UTC).isoformat(), format_moment(value, seconds=seconds))


@register.filter
def moment_text(value):
    """``format_moment(value)``, or "" for None: for plain text, where ``{% moment %}``'s element has no place."""
    return format_moment(value) if value is not None else ""
