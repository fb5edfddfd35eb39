"""Operator commands for two-factor authentication: see a user's factors, or turn them off after a lost device."""

from django.core.management.base import BaseCommand, CommandError

from accounts import selectors as account_selectors
from core.audit import Origin
from mfa import selectors, services


class Command(BaseCommand):
    help = "Two-factor authentication of a user: status, or disable (for a user who lost their device)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["status", "disable"])
        parser.add_argument("username")

    def handle(self, *args, action, username, **options):
        user = account_selectors.user_named(username)
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        state = selectors.status(user)
        if action == "status":
            app, email = ("on" if state[factor] else "off" for factor in ("totp", "email"))
            left = state["recovery_codes_left"]
            self.stdout.write(f"{user.username}: app {app}, email codes {email}, {left} recovery codes left")
            return
        if not state["enabled"] and not state["recovery_codes_left"]:
            self.stdout.write(f"Two-factor authentication is already off for {user.username}.")
            return
        services.two_factor_disable(origin=Origin.command("two_factor disable"), user=user, reason="by the operator")
        self.stdout.write(self.style.SUCCESS(f"Two-factor authentication is off for {user.username}."))
