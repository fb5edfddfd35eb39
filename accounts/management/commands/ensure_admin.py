"""First run: create the first administrator when the panel has no user yet."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts import selectors, services
from accounts.management.errors import describe
from accounts.models import User
from accounts.passwords import generate_password
from core import conf
from core.audit import Origin


class Command(BaseCommand):
    @property
    def help(self):  # argparse needs a str: translated when the parser is made
        return _(
            "Create the first administrator if there is no user yet: PANEL_ADMIN_USERNAME (default admin), "
            "PANEL_ADMIN_EMAIL, and PANEL_ADMIN_PASSWORD (default: a random password printed once)."
        )

    def handle(self, *args, **options):
        with transaction.atomic():
            if selectors.user_count():
                self.stdout.write(_("Users exist already; no administrator created."))
                return
            username = conf.value("PANEL_ADMIN_USERNAME")
            email = conf.value("PANEL_ADMIN_EMAIL", f"{username}@localhost")
            given = conf.value("PANEL_ADMIN_PASSWORD")
            password = given or generate_password(user=User(username=username, email=email))
            try:
                services.user_create(
                    origin=Origin.command("ensure_admin"),
                    username=username,
                    email=email,
                    password=password,
                    is_superuser=True,
                )
            except ValidationError as error:
                raise CommandError(describe(error)) from None
        self.stdout.write(self.style.SUCCESS(_("Created the first administrator: %(name)s") % {"name": username}))
        if not given:
            self.stdout.write(_("Password (shown once, keep it safe): %(password)s") % {"password": password})
