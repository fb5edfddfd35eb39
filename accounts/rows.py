"""The user list's rows and cells, rendered in Python: the markup the page, and the htmx answers that replace
one cell (inline edits, the Enabled switch), share.

Templates cost about a millisecond a row (nested includes, ``{% if %}`` on permissions, ``reverse()`` and
``blocktranslate`` per link), most of the page's time. Here, what is the same on every row is worked out once
per page (``UserRows``): the viewer's permissions, the translated words, the URL shapes; a row only escapes its
own values into them. Every value from the database goes through ``escape()``; the rest is the panel's own
text, inserted as ``{% blocktranslate %}`` did. Whitespace is one space wherever the templates had any, so the
page reads the same (tests/integration/test_user_rows.py holds the templates' markup to compare).
"""

from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import escape
from django.utils.safestring import SafeString
from django.utils.translation import gettext, pgettext

from core.row_urls import row_url
from core.templatetags.moments import moment


class UserRows:
    """The rows of one answer to ``request``: for its user, in its language, with its CSRF token."""

    def __init__(self, request):
        viewer = request.user
        self.viewer_id = viewer.pk
        self.can_change = viewer.has_perm("accounts.change_user")
        self.can_add = viewer.has_perm("accounts.add_user")
        self.can_delete = viewer.has_perm("accounts.delete_user")
        self.manages_tokens = viewer.has_perm("tokens.manage_others_tokens")
        self.manages_passkeys = viewer.has_perm("passkeys.manage_others_passkeys")
        self.enabled_url = row_url("accounts:user_enabled")
        self.request = request
        # Escaped, as {% translate %} leaves them.
        self.words = {
            key: escape(text)
            for key, text in {
                "username": gettext("Username"),
                "email": pgettext("user field", "Email"),
                "company": gettext("Company"),
                "move": gettext("Move"),
                "enabled": gettext("Enabled"),
                "two_factor": gettext("Two-Factor Auth"),
                "joined": gettext("Creation Time"),
                "expires": gettext("Expires"),
                "expired": gettext("Expired"),
                "never": pgettext("expires", "Never"),
                "change": gettext("Change"),
                "password": gettext("Change Password"),
                "delete": gettext("Delete"),
                "more": gettext("More"),
                "tokens": gettext("Access Tokens"),
                "passkeys": gettext("Passkeys"),
                "access": gettext("Access"),
                "sessions": pgettext("a user's login sessions", "Sessions"),
                "policy": gettext("Session Policy"),
                "sub_user": gettext("Add Sub-user"),
                "on": pgettext("switch", "On"),
                "off": pgettext("switch", "Off"),
                "edit_username": gettext("Edit username"),
                "edit_email": gettext("Edit email"),
            }.items()
        }

    @cached_property
    def csrf_input(self):
        """What ``{% csrf_token %}`` gives, made when a switch needs it (a cell alone sets no CSRF cookie)."""
        return csrf_input(self.request)

    def rows(self, users, two_factor_switches):
        """The ``<tr>`` of each of ``users`` (a page of ``accounts.selectors.user_list``), one after another.

        ``two_factor_switches`` is the Two-Factor cell of each, by user ID (``{% two_factor_switches %}``).
        """
        words, can_change = self.words, self.can_change
        cells = {field: self._cell_renderer(field) for field in ("username", "email")}
        urls = {
            name: row_url(name)
            for name in (
                "accounts:user_move",
                "accounts:user_expiry",
                "accounts:user_password",
                "accounts:user_delete",
                "tokens:token_list",
                "passkeys:passkey_list",
                "access:user_access",
                "sessions:session_list",
                "sessions:user_session_policy",
            )
        }
        sub_user_of = gettext("sub-user of %(name)s")
        move_label = gettext("Move %(name)s to another company")
        expiry_label = gettext("Change the expiry of %(name)s")
        menu_label = gettext("More actions for %(name)s")
        create_url = escape(reverse("accounts:user_create"))
        out = []
        for user in users:
            pk, name = user.pk, escape(user.username)
            nested = f' class="nested-row" data-depth="{int(user.tree_depth)}"' if user.tree_depth else ""
            company = escape(user.company.name) if user.company_id and user.company.name else "—"
            if can_change and not user.parent_id:
                company += (
                    f' <a class="quiet" href="{urls["accounts:user_move"](pk)}" data-quick-action'
                    f' aria-label="{move_label % {"name": name}}">{words["move"]}</a>'
                )
            if user.parent_id:
                parent = sub_user_of % {"name": escape(user.parent.username)}
                company += f'<br><span class="muted sub-user">{parent}</span>'
            if user.expires_at:
                expires = moment(user.expires_at, stacked=True)
                if user.is_expired:
                    expires += f' <span class="badge failure">{words["expired"]}</span>'
            else:
                expires = f'<span class="muted">{words["never"]}</span>'
            if can_change:
                expires += (
                    f' <a class="quiet" href="{urls["accounts:user_expiry"](pk)}" data-quick-action'
                    f' aria-label="{expiry_label % {"name": name}}">{words["change"]}</a>'
                )
            out.append(
                f'<tr id="user-{int(pk)}"{nested}> '
                f'<td class="inline-cell" data-label="{words["username"]}">{cells["username"](user)}</td>'
                f'<td class="inline-cell" data-label="{words["email"]}">{cells["email"](user)}</td> '
                f'<td data-label="{words["company"]}">{company}</td> '
                f'<td data-label="{words["enabled"]}">{self.enabled_switch(user)}</td> '
                f'<td data-label="{words["two_factor"]}">{two_factor_switches[pk]}</td> '
                f'<td data-label="{words["joined"]}">{moment(user.date_joined, stacked=True)}</td> '
                f'<td data-label="{words["expires"]}">{expires}</td> '
                f'<td class="actions"> {self._actions(user, name, urls, create_url, menu_label)}</td> </tr> '
            )
        return SafeString("".join(out))

    def _actions(self, user, name, urls, create_url, menu_label):
        words, pk, own = self.words, user.pk, user.pk == self.viewer_id
        links = []
        if self.can_change or own:
            links.append(f'<a href="{urls["accounts:user_password"](pk)}" data-quick-action>{words["password"]}</a>')
        if self.can_delete:
            delete_url = urls["accounts:user_delete"](pk)
            links.append(f'<a class="danger" href="{delete_url}" data-quick-action>{words["delete"]}</a>')
        menu = [
            (self.manages_tokens or own, f'<a href="{urls["tokens:token_list"](pk)}">{words["tokens"]}</a>'),
            (self.manages_passkeys or own, f'<a href="{urls["passkeys:passkey_list"](pk)}">{words["passkeys"]}</a>'),
            (self.can_change, f'<a href="{urls["access:user_access"](pk)}">{words["access"]}</a>'),
            (self.can_change or own, f'<a href="{urls["sessions:session_list"](pk)}">{words["sessions"]}</a>'),
            (self.can_change, f'<a href="{urls["sessions:user_session_policy"](pk)}">{words["policy"]}</a>'),
            (self.can_add, f'<a href="{create_url}?parent={int(pk)}" data-quick-action>{words["sub_user"]}</a>'),
        ]
        shown = "".join(f"{link} " for allowed, link in menu if allowed)
        if shown:
            summary = f'<summary aria-label="{menu_label % {"name": name}}">{words["more"]}</summary>'
            links.append(f'<details class="row-menu"> {summary} <div class="menu"> {shown}</div> </details>')
        return "".join(f"{link} " for link in links)

    def _cell_renderer(self, field):
        """A function of a user giving the display cell of ``field`` (``username`` or ``email``)."""
        if not self.can_change:
            return lambda user: escape(getattr(user, field))
        edit_url = row_url("accounts:user_field_edit", field)
        if field == "username":
            title, label = self.words["edit_username"], gettext("Edit username of %(name)s")
        else:
            title, label = self.words["edit_email"], gettext("Edit email of %(name)s: %(email)s")

        def cell(user):
            url, value = edit_url(user.pk), escape(getattr(user, field))
            described = label % {"name": escape(user.username), "email": escape(user.email)}
            return (
                f'<a class="inline-value" href="{url}" hx-get="{url}" hx-target="closest td" hx-swap="innerHTML" '
                f'title="{title}" aria-label="{described}">{value}</a>'
            )

        return cell

    def cell(self, user, field):
        """The display cell of ``field`` of ``user``: what an inline edit answers when saved or cancelled."""
        return SafeString(self._cell_renderer(field)(user))

    def enabled_switch(self, user, refusal=None):
        """The Enabled cell: a switch that posts the other state (with ``refusal``, why it was refused), or a badge."""
        state = self.words["on"] if user.is_active else self.words["off"]
        if not self.can_change or user.pk == self.viewer_id:
            return SafeString(f' <span class="badge{" success" if user.is_active else " failure"}">{state}</span> ')
        url = self.enabled_url(user.pk)
        label = gettext("Account of %(name)s enabled") % {"name": escape(user.username)}
        why = f'<span class="errors" role="alert">{escape(refusal)}</span> ' if refusal else ""
        return SafeString(
            f' <form class="enabled-switch" method="post" action="{url}" hx-post="{url}" hx-target="this" '
            f'hx-swap="outerHTML"> {self.csrf_input}<input type="hidden" name="enabled" '
            f'value="{"false" if user.is_active else "true"}"> <button type="submit" '
            f'class="switch{" on" if user.is_active else ""}" role="switch" '
            f'aria-checked="{"true" if user.is_active else "false"}" aria-label="{label}">{state}</button> '
            f"{why}</form> "
        )
