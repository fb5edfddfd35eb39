"""Template tags that let other apps' pages show two-factor state without importing mfa."""

from django import template

from mfa import selectors

register = template.Library()


@register.simple_tag
def users_with_two_factor(rows):
    """Which of ``rows`` (users) have a second factor on, in one query: ``{% users_with_two_factor page as on %}``."""
    return selectors.users_with_two_factor([row.pk for row in rows])
