"""``{% moment value %}``: how every page shows a date and time, the way its inputs take one.

24-hour, ``YYYY-MM-DD HH:MM``, in UTC with the zone named, inside a ``<time>`` element carrying the
exact instant. The one place to change when people get their own time zone.
"""

import datetime

from django import template
from django.utils.html import format_html

register = template.Library()


def format_moment(value, *, seconds=False):
    """``value`` (an aware datetime) as text: ``2026-03-01 14:05 UTC``."""
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


@register.simple_tag
def moment(value, *, seconds=False, stacked=False):
    """``value`` in a ``<time>`` element; ``stacked`` lets a narrow column put the time under the date."""
    if value is None:
        return ""
    element = '<time class="stacked" datetime="{}">{}</time>' if stacked else '<time datetime="{}">{}</time>'
    return format_html(element, value.astimezone(datetime.UTC).isoformat(), format_moment(value, seconds=seconds))
