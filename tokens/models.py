from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from core.crypto import EncryptedTextField

# A token not used for this long is marked in the token list (page and API): probably forgotten.
UNUSED_AFTER = timedelta(days=90)


class AccessToken(models.Model):
    """A credential a script uses to act as its owner.

    The integer primary key is the credential ID clients send; the secret is
    stored only encrypted (core.crypto) and shown once, when the token is made.
    ``encrypted_secret`` is the stored Fernet token; ``secret`` the plaintext
    (reading it raises core.crypto.SecretUnreadable when no configured key opens it).
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="access_tokens")
    name = models.CharField(max_length=64, blank=True)
    encrypted_secret = EncryptedTextField(plaintext="secret")
    # Normalised addresses and CIDR blocks (tokens.validators); empty allows any address.
    ip_allowlist = models.JSONField(default=list, blank=True)
    # The permission names ("app_label.codename") the token is limited to; None: all of its owner's.
    # Either way it acts only with what its owner holds at each request (tokens.authentication).
    permissions = models.JSONField(null=True, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    # The last expiry reminder emailed, in days before ``expires_at`` (7, then 1); None before the first.
    # A new expiry starts the reminders again (tokens.services.token_update clears it).
    expiry_reminder_days = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # A user's tokens, newest first, a page at a time (tokens.selectors).
        indexes = [models.Index(fields=["user", "created_at", "id"], name="accesstoken_owner_created")]
        permissions = [
            ("manage_others_tokens", "Can manage other users' access tokens"),
            ("create_others_tokens", "Can create access tokens for other users"),
        ]

    def __str__(self):
        return f"token {self.pk}" + (f" ({self.name})" if self.name else "")

    @property
    def is_expired(self):
        return self.expires_at <= timezone.now()

    @property
    def is_unused(self):
        """Not used for ``UNUSED_AFTER``: last used that long ago, or never and made that long ago."""
        return (self.last_used_at or self.created_at) <= timezone.now() - UNUSED_AFTER
