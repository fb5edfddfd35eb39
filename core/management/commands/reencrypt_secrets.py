"""After a key rotation: re-encrypt every stored secret under the newest key in PANEL_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import crypto


class Command(BaseCommand):
    @property
    def help(self):
        return _(
            "Re-encrypt every encrypted field of every row (token secrets, TOTP keys, ...) under the first key of "
            "PANEL_ENCRYPTION_KEYS, in batches of one transaction each. Run it after putting a new key in front, "
            "before removing the old one."
        )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=crypto.BATCH_SIZE, help=_("Rows per transaction."))

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError(_("--batch-size must be at least 1."))
        fields = crypto.encrypted_fields()
        # Refuse before changing anything when some secret opens with no key: re-encrypting the
        # others would not help, and the old key must come back first.
        unreadable = [check for field in fields if (check := crypto.check_field(field=field)).unreadable]
        if unreadable:
            for check in unreadable:
                rows = ", ".join(str(pk) for pk in check.unreadable)
                self.stderr.write(
                    _("%(field)s: rows %(ids)s open with none of the keys.")
                    % {"field": crypto.field_label(check.field), "ids": rows}
                )
            raise CommandError(_("Nothing was changed. %(advice)s") % {"advice": crypto.REPAIR_ADVICE})
        for field in fields:
            try:
                count = crypto.reencrypt_field(field=field, batch_size=batch_size)
            except crypto.SecretUnreadable as error:  # written since the check, under a key since dropped
                raise CommandError(str(error)) from None
            done = ngettext("%(field)s: re-encrypted %(count)d row.", "%(field)s: re-encrypted %(count)d rows.", count)
            self.stdout.write(done % {"field": crypto.field_label(field), "count": count})
        self.stdout.write(self.style.SUCCESS(_("Every secret is now under the newest key.")))
