"""The login guard's locks, for the operator: list them, or lift an account's or an address's."""

import ipaddress

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import throttle
from core.audit import Origin


class Command(BaseCommand):
    @property
    def help(self):
        return _(
            "List the accounts and client addresses the login guard makes wait (locks list), "
            "or lift one lock, audited (locks unlock --user NAME, or --ip ADDRESS; an IPv6 address lifts its /64)."
        )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("list", help=_("List every account and address under a wait."))
        unlock = actions.add_parser("unlock", help=_("Lift the lock of one account or one address."))
        target = unlock.add_mutually_exclusive_group(required=True)
        target.add_argument("--user", help=_("The account name (as typed at the login page; case does not matter)."))
        target.add_argument("--ip", help=_("The client address (an IPv6 address lifts its whole /64)."))

    def handle(self, *args, action, **options):
        if action == "list":
            self._list()
        else:
            self._unlock(user=options.get("user"), ip=options.get("ip"))

    def _list(self):
        locks = throttle.current_locks()
        if not locks:
            self.stdout.write(_("Nothing is locked."))
        for lock in locks:
            kind = "account" if lock.kind == "account" else "ip"  # the names --user and --ip stand for, untranslated
            facts = {"seconds": lock.seconds, "failures": lock.failures, "browsers": lock.browsers}
            if lock.browsers:
                state = ngettext(
                    "wait %(seconds)d s, %(failures)d failures, %(browsers)d browser with a device cookie",
                    "wait %(seconds)d s, %(failures)d failures, %(browsers)d browsers with a device cookie",
                    lock.browsers,
                )
            else:
                state = _("wait %(seconds)d s, %(failures)d failures")
            self.stdout.write(f"{kind:<8} {lock.name}  {state % facts}")

    def _unlock(self, *, user, ip):
        if ip is not None:
            try:
                ipaddress.ip_address(ip.strip())
            except ValueError:
                raise CommandError(_("%(ip)r is not an IP address.") % {"ip": ip}) from None
        kind, name = ("account", user) if user is not None else ("ip", ip.strip())
        if not name.strip():
            raise CommandError(_("Name an account with --user or an address with --ip."))
        seconds = throttle.lift_lock(origin=Origin.command("locks"), kind=kind, name=name)
        if kind == "account" and seconds:
            lifted = _("Lifted the lock of the account %(name)s (it had %(seconds)d s left).")
        elif kind == "account":
            lifted = _("Lifted the lock of the account %(name)s (it had no wait; its failures are cleared).")
        elif seconds:
            lifted = _("Lifted the lock of the address %(name)s (it had %(seconds)d s left).")
        else:
            lifted = _("Lifted the lock of the address %(name)s (it had no wait; its failures are cleared).")
        self.stdout.write(self.style.SUCCESS(lifted % {"name": name, "seconds": seconds}))
