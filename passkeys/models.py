from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

# A WebAuthn credential ID is at most 1023 bytes; a user handle at most 64.
CREDENTIAL_ID_MAX_BYTES = 1023
USER_HANDLE_BYTES = 64
NAME_MAX_LENGTH = 64


class UserHandle(models.Model):
    """The WebAuthn user handle of a user: random, so that an authenticator never learns the database ID.

    One per user and kept while the user exists, so that registering again
    replaces an authenticator's stale passkey for the same account.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="passkey_handle"
    )
    handle = models.BinaryField(max_length=USER_HANDLE_BYTES, unique=True)

    def __str__(self):
        return f"passkey user handle of {self.user_id}"


class Passkey(models.Model):
    """A discoverable WebAuthn credential that logs its user in without a password."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(max_length=NAME_MAX_LENGTH)
    credential_id = models.BinaryField(max_length=CREDENTIAL_ID_MAX_BYTES, unique=True)
    public_key = models.BinaryField()  # COSE-encoded, as the authenticator sent it
    sign_count = models.PositiveBigIntegerField(default=0)
    transports = models.JSONField(default=list, blank=True)
    aaguid = models.CharField(max_length=36, blank=True)  # the authenticator model; all zeros when unknown
    backup_eligible = models.BooleanField(default=False)  # a synced (multi-device) passkey
    backed_up = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        # Ignoring case, as validators.validate_passkey_name_free does.
        constraints = [models.UniqueConstraint("user", Lower("name"), name="passkey_name_unique_per_user")]
        permissions = [("manage_others_passkeys", "Can see and delete other users' passkeys")]

    def __str__(self):
        return f"passkey {self.name}"
