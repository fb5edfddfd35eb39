"""After a key rotation: re-encrypt every stored secret under the newest key in PANEL_ENCRYPTION_KEYS."""

from django.core.management.base import BaseCommand, CommandError

from core.crypto import InvalidToken
from tokens import services


class Command(BaseCommand):
    help = (
        "Re-encrypt every access-token secret under the first key of PANEL_ENCRYPTION_KEYS. "
        "Run it after putting a new key in front, before removing the old one."
    )

    def handle(self, *args, **options):
        try:
            count = services.reencrypt_secrets()
        except InvalidToken:
            raise CommandError(
                "A stored secret opens with none of the configured keys: put the old key back in "
                "PANEL_ENCRYPTION_KEYS (after the new one) and run this again. Nothing was changed."
            ) from None
        self.stdout.write(self.style.SUCCESS(f"Re-encrypted {count} token secret{'s' if count != 1 else ''}."))
