"""The login guard's locks, for the operator: list them, or lift an account's or an address's."""

import ipaddress

from django.core.management.base import BaseCommand, CommandError

from core import throttle
from core.audit import Origin


class Command(BaseCommand):
    help = (
        "List the accounts and client addresses the login guard makes wait (locks list), "
        "or lift one lock, audited (locks unlock --user NAME, or --ip ADDRESS; an IPv6 address lifts its /64)."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("list", help="List every account and address under a wait.")
        unlock = actions.add_parser("unlock", help="Lift the lock of one account or one address.")
        target = unlock.add_mutually_exclusive_group(required=True)
        target.add_argument("--user", help="The account name (as typed at the login page; case does not matter).")
        target.add_argument("--ip", help="The client address (an IPv6 address lifts its whole /64).")

    def handle(self, *args, action, **options):
        if action == "list":
            self._list()
        else:
            self._unlock(user=options.get("user"), ip=options.get("ip"))

    def _list(self):
        locks = throttle.current_locks()
        if not locks:
            self.stdout.write("Nothing is locked.")
        for lock in locks:
            kind = "account" if lock.kind == "account" else "ip"
            browsers = f", {lock.browsers} browser(s) with a device cookie" if lock.browsers else ""
            self.stdout.write(f"{kind:<8} {lock.name}  wait {lock.seconds} s, {lock.failures} failures{browsers}")

    def _unlock(self, *, user, ip):
        if ip is not None:
            try:
                ipaddress.ip_address(ip.strip())
            except ValueError:
                raise CommandError(f"{ip!r} is not an IP address.") from None
        kind, name = ("account", user) if user is not None else ("ip", ip.strip())
        if not name.strip():
            raise CommandError("Name an account with --user or an address with --ip.")
        seconds = throttle.lift_lock(origin=Origin.command("locks"), kind=kind, name=name)
        what = "account" if kind == "account" else "address"
        state = f"it had {seconds} s left" if seconds else "it had no wait; its failures are cleared"
        self.stdout.write(self.style.SUCCESS(f"Lifted the lock of the {what} {name} ({state})."))
