"""After a key rotation: re-encrypt every stored secret under the newest key in PANEL_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand, CommandError

from core import crypto


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field of every row (token secrets, TOTP keys, ...) under the first key of "
        "PANEL_ENCRYPTION_KEYS, in batches of one transaction each. Run it after putting a new key in front, "
        "before removing the old one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=crypto.BATCH_SIZE, help="Rows per transaction.")

    def handle(self, *args, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        fields = crypto.encrypted_fields()
        # Refuse before changing anything when some secret opens with no key: re-encrypting the
        # others would not help, and the old key must come back first.
        unreadable = [check for field in fields if (check := crypto.check_field(field=field)).unreadable]
        if unreadable:
            for check in unreadable:
                rows = ", ".join(str(pk) for pk in check.unreadable)
                self.stderr.write(f"{crypto.field_label(check.field)}: rows {rows} open with none of the keys.")
            raise CommandError(f"Nothing was changed. {crypto.REPAIR_ADVICE}")
        for field in fields:
            try:
                count = crypto.reencrypt_field(field=field, batch_size=batch_size)
            except crypto.SecretUnreadable as error:  # written since the check, under a key since dropped
                raise CommandError(str(error)) from None
            self.stdout.write(f"{crypto.field_label(field)}: re-encrypted {count} row{'s' if count != 1 else ''}.")
        self.stdout.write(self.style.SUCCESS("Every secret is now under the newest key."))
