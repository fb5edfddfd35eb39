"""Operator commands for two-factor authentication: see a user's factors, or turn them off after a lost device."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from accounts import selectors as account_selectors
from core.audit import Origin
from mfa import selectors, services


class Command(BaseCommand):
    @property
    def help(self):  # translated when the parser is made (argparse takes no lazy text)
        return _("Two-factor authentication of a user: status, or disable (for a user who lost their device).")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "disable"])
        parser.add_argument("username")

    def handle(self, *args, action, username, **options):
        user = account_selectors.user_named(username)
        if user is None:
            raise CommandError(_("No user named %(username)r.") % {"username": username})
        state = selectors.status(user)
        if action == "status":
            # Translators: whether a second factor is turned on, in "app on, email codes off".
            on, off = pgettext("factor state", "on"), pgettext("factor state", "off")
            app, email = (on if state[factor] else off for factor in ("totp", "email"))
            left = state["recovery_codes_left"]
            status = ngettext(
                "%(username)s: app %(app)s, email codes %(email)s, %(count)d recovery code left",
                "%(username)s: app %(app)s, email codes %(email)s, %(count)d recovery codes left",
                left,
            )
            self.stdout.write(status % {"username": user.username, "app": app, "email": email, "count": left})
            return
        if not state["enabled"] and not state["recovery_codes_left"]:
            told = _("Two-factor authentication is already off for %(username)s.")
            self.stdout.write(told % {"username": user.username})
            return
        services.two_factor_disable(origin=Origin.command("two_factor disable"), user=user, reason="by the operator")
        told = _("Two-factor authentication is off for %(username)s.")
        self.stdout.write(self.style.SUCCESS(told % {"username": user.username}))
