"""Template tags that let other apps' pages show two-factor state without importing mfa."""

from django import template
from django.template.backends.utils import csrf_input
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext, pgettext

from core.row_urls import row_url
from mfa import selectors

register = template.Library()


@register.simple_tag(takes_context=True)
def two_factor_switches(context, rows):
    """The user list's Two-Factor cell of each of ``rows`` (users), by ID, from one query:
    ``{% two_factor_switches page as switches %}``.

    On links to the user's two-factor page (for themselves, or who may reset it); Off starts enrolling an
    app in the page's ``#mfa-dialog`` for the same people; anyone else sees the state. Rendered in Python,
    with the words and URLs worked out once for the page: a template per row cost more than the rest.
    """
    request = context.request
    on = selectors.users_with_two_factor([row.pk for row in rows])
    may_manage = request.user.has_perm("mfa.reset_two_factor")
    own_id = request.user.pk
    on_word, off_word = escape(pgettext("two-factor state", "On")), escape(pgettext("two-factor state", "Off"))
    page_url, enable_url = row_url("mfa:two_factor"), row_url("mfa:totp_enable")
    title, label = (
        gettext("Two-factor authentication of %(username)s"),
        gettext("Turn on two-factor authentication for %(username)s"),
    )
    csrf = csrf_input(request)
    switches = {}
    for row in rows:
        pk, manageable = row.pk, may_manage or row.pk == own_id
        if pk in on and manageable:
            cell = (
                f'<a class="badge success" href="{page_url(pk)}" '
                f'title="{title % {"username": escape(row.username)}}">{on_word}</a>'
            )
        elif pk in on:
            cell = f'<span class="badge success">{on_word}</span>'
        elif manageable:
            url = enable_url(pk)
            cell = (
                f'<form method="post" action="{url}" hx-post="{url}" hx-target="#mfa-dialog .mfa-target"> '
                f'{csrf}<button type="submit" class="switch" role="switch" aria-checked="false" '
                f'aria-label="{label % {"username": escape(row.username)}}">{off_word}</button> </form>'
            )
        else:
            cell = f'<span class="badge">{off_word}</span>'
        switches[pk] = SafeString(f" {cell} ")
    return switches
