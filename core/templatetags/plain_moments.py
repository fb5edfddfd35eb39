"""``{{ value|plain_moment }}``: a date and time in a plain-text email, as ``{% moment %}`` shows it on a page."""

from django import template

from core.templatetags.moments import format_moment

register = template.Library()


@register.filter
def plain_moment(value):
    """``value`` (an aware datetime) as text, by ``format_moment``; empty for None."""
    return "" if value is None else format_moment(value)
