"""Operator commands, like AcePanel's `user create|password|username|delete|list`."""

import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts import selectors, services
from accounts.management.errors import describe
from accounts.models import User
from accounts.passwords import generate_password
from core.audit import Origin


class Command(BaseCommand):
    @property
    def help(self):  # argparse needs a str: translated when the parser is made
        return _("Manage panel users from the server: create, password, username, delete, never-expires, list.")

    def add_arguments(self, parser):
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{create,password,username,delete,never-expires,list}"
        )

        create = actions.add_parser("create", help=_("Create a user."))
        create.add_argument("username")
        create.add_argument("--email", required=True)
        create.add_argument("--superuser", action="store_true", help=_("Give the user every permission."))
        self._password_source(create)

        password = actions.add_parser("password", help=_("Set a user's password and end their sessions."))
        password.add_argument("username")
        self._password_source(password)

        rename = actions.add_parser("username", help=_("Rename a user."))
        rename.add_argument("username")
        rename.add_argument("new_username")

        delete = actions.add_parser("delete", help=_("Delete a user (never the last one)."))
        delete.add_argument("username")

        never = actions.add_parser(
            "never-expires", help=_("Clear a user's account expiry (an expired admin's way back).")
        )
        never.add_argument("username")

        actions.add_parser("list", help=_("List users, newest first."))

    @staticmethod
    def _password_source(parser):
        source = parser.add_mutually_exclusive_group()
        source.add_argument("--password-stdin", action="store_true", help=_("Read the password from standard input."))
        source.add_argument("--random", action="store_true", help=_("Generate a password and print it once."))

    def handle(self, *args, action, **options):
        self.origin = Origin.command(f"user {action}")
        try:
            getattr(self, f"_{action.replace('-', '_')}")(**options)
        except ValidationError as error:
            raise CommandError(describe(error)) from None
        except services.LastUserError as error:
            raise CommandError(str(error)) from None

    def _find(self, username):
        user = selectors.user_named(username)
        if user is None:
            raise CommandError(_("No user named %(name)s.") % {"name": repr(username)})
        return user

    def _read_password(self, options, user):
        if options["random"]:
            return generate_password(user=user), True
        if options["password_stdin"]:
            return sys.stdin.readline().rstrip("\n"), False
        if not sys.stdin.isatty():
            raise CommandError(_("No terminal to ask for a password: use --password-stdin or --random."))
        first = getpass.getpass(_("Password: "))
        if first != getpass.getpass(_("Password (again): ")):
            raise CommandError(_("The two passwords differ."))
        return first, False

    def _show_generated(self, password, generated):
        if generated:
            self.stdout.write(_("Password (shown once, keep it safe): %(password)s") % {"password": password})

    def _create(self, username, email, superuser, **options):
        password, generated = self._read_password(options, User(username=username, email=email))
        user = services.user_create(
            origin=self.origin, username=username, email=email, password=password, is_superuser=superuser
        )
        self.stdout.write(self.style.SUCCESS(_("Created user %(name)s.") % {"name": user.username}))
        self._show_generated(password, generated)

    def _password(self, username, **options):
        user = self._find(username)
        password, generated = self._read_password(options, user)
        services.user_set_password(origin=self.origin, user=user, password=password)
        self.stdout.write(
            self.style.SUCCESS(_("Changed the password of %(name)s; their sessions ended.") % {"name": user.username})
        )
        self._show_generated(password, generated)

    def _username(self, username, new_username, **options):
        user = self._find(username)
        services.user_update(origin=self.origin, user=user, username=new_username)
        self.stdout.write(
            self.style.SUCCESS(_("Renamed %(old)s to %(new)s.") % {"old": username, "new": user.username})
        )

    def _delete(self, username, **options):
        user = self._find(username)
        services.user_delete(origin=self.origin, user=user)
        self.stdout.write(self.style.SUCCESS(_("Deleted user %(name)s.") % {"name": username}))

    def _never_expires(self, username, **options):
        user = self._find(username)
        services.user_set_expiry(origin=self.origin, user=user, expires_at=None)
        self.stdout.write(self.style.SUCCESS(_("The account of %(name)s never expires now.") % {"name": user.username}))

    def _list(self, **options):
        # Translators: the column headings of "manage.py user list", in capitals where the script has them.
        username, email, created = _("USERNAME"), _("EMAIL"), _("CREATED AT (UTC)")
        self.stdout.write(f"{username:<33}{email:<40}{created}")
        for user in selectors.users_newest_first().iterator():
            self.stdout.write(f"{user.username:<33}{user.email:<40}{user.date_joined:%Y-%m-%d %H:%M}")
