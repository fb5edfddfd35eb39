"""``{% user_rows page switches %}``: the user list's rows (accounts.rows), for the answer being rendered."""

from django import template

from accounts.rows import UserRows

register = template.Library()


@register.simple_tag(takes_context=True)
def user_rows(context, users, two_factor_switches):
    return UserRows(context.request).rows(users, two_factor_switches)
