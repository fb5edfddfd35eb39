"""Before dropping an old key (or after a restore): does every stored secret open with the configured keys?"""

from django.core.management.base import BaseCommand, CommandError

from core import crypto


class Command(BaseCommand):
    help = (
        "Check that every encrypted field of every row opens with the keys in PANEL_ENCRYPTION_KEYS. "
        "Exits non-zero naming the model, field and row IDs that do not; never prints a secret."
    )

    def handle(self, *args, **options):
        failed = False
        for field in crypto.encrypted_fields():
            check = crypto.check_field(field=field)
            label = crypto.field_label(field)
            if check.unreadable:
                failed = True
                rows = ", ".join(str(pk) for pk in check.unreadable)
                self.stderr.write(
                    f"{label}: {len(check.unreadable)} of {check.rows} open with none of the keys (rows {rows})."
                )
            elif check.stale:
                self.stdout.write(
                    f"{label}: {check.rows} open; {check.stale} still under an older key (run reencrypt_secrets)."
                )
            else:
                self.stdout.write(f"{label}: {check.rows} open, all under the newest key.")
        if failed:
            raise CommandError(f"Some secrets cannot be read. {crypto.REPAIR_ADVICE}")
        self.stdout.write(self.style.SUCCESS("Every stored secret opens with the configured keys."))
