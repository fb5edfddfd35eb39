"""Second factors, as django-otp devices.

django-otp's own TOTP and static devices keep their keys and codes in plain
text; these keep the TOTP key encrypted (core.crypto) and recovery codes
hashed, and reuse django-otp's Device, throttling and TOTP arithmetic.
"""

import hashlib
import hmac
import time

from django.db import models, transaction
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.plugins.otp_email.models import EmailDevice

from core.crypto import EncryptedTextField

# What Google Authenticator, Microsoft Authenticator, Authy and 1Password all accept.
TOTP_STEP = 30
TOTP_DIGITS = 6
TOTP_TOLERANCE = 1  # one step early or late


_THROTTLE_FIELDS = ("throttling_failure_timestamp", "throttling_failure_count")


class LockedVerificationMixin:
    """Check a code against the device's row locked for update, never against a stale copy.

    Two requests may load the same device at once: without the lock both could
    accept one code, and a failure saved from a stale copy could write back a
    used code. ``accept_code(device, token)`` does the device's own check on the
    locked row and returns the fields it changed on success.
    """

    def verify_token(self, token):
        with transaction.atomic():
            device = type(self).objects.select_for_update().get(pk=self.pk)
            allowed, _ = device.verify_is_allowed()
            if not allowed:
                return False
            changed = self.accept_code(device, str(token or "").strip())
            if changed is None:
                device.throttle_increment(commit=False)
                changed = _THROTTLE_FIELDS
            else:
                device.throttle_reset(commit=False)
                changed = (*changed, *_THROTTLE_FIELDS)
            device.save(update_fields=changed)
        for field in changed:
            setattr(self, field, getattr(device, field))
        return changed is not _THROTTLE_FIELDS

    def get_throttle_factor(self):
        return 1


class AuthenticatorDevice(LockedVerificationMixin, TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator app (SHA-1, 6 digits, 30-second steps)."""

    # The key in hex; ``key`` gives its bytes.
    encrypted_key = EncryptedTextField(plaintext="hex_key")
    # The time step of the last accepted code: a code is accepted once, and never an older one.
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        permissions = [("reset_two_factor", "Can turn off or enrol another user's two-factor authentication")]

    @property
    def key(self) -> bytes:
        """The TOTP key; raises core.crypto.SecretUnreadable when no configured key opens it."""
        return bytes.fromhex(self.hex_key)

    @staticmethod
    def accept_code(device, token):
        if not (token.isascii() and token.isdigit() and len(token) == TOTP_DIGITS):
            return None
        totp = TOTP(device.key, step=TOTP_STEP, digits=TOTP_DIGITS)
        totp.time = time.time()
        if not totp.verify(int(token), tolerance=TOTP_TOLERANCE, min_t=device.last_t + 1):
            return None
        device.last_t = totp.t()
        device.last_used_at = timezone.now()
        return ("last_t", "last_used_at")


class RecoveryCodeDevice(LockedVerificationMixin, ThrottlingMixin, Device):
    """A user's set of single-use recovery codes, each stored only as its SHA-256.

    A code carries 80 random bits, so its plain SHA-256 cannot be reversed; a slow
    password hash would only make each login with a code check ten slow hashes.
    """

    @staticmethod
    def accept_code(device, token):
        digest = hash_recovery_code(token)
        # Compare with every code, in constant time, so the timing tells nothing.
        match = None
        for code in device.codes.all():
            if hmac.compare_digest(code.code_hash, digest):
                match = code
        if match is None:
            return None
        match.delete()
        return ()


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)

    def __str__(self):
        return f"recovery code {self.pk}"


def hash_recovery_code(code) -> str:
    """Codes are compared without dashes, spaces or case, as people type them."""
    normalised = "".join(str(code).split()).replace("-", "").lower()
    return hashlib.sha256(normalised.encode()).hexdigest()


class EmailCodeDevice(LockedVerificationMixin, EmailDevice):
    """django-otp's email device (5-minute codes, 60-second cooldown, throttling), compared in constant time."""

    class Meta:
        proxy = True

    @staticmethod
    def accept_code(device, token):
        now = timezone.now()
        expected = device.token or ""
        if not (expected and now < device.valid_until and hmac.compare_digest(token.encode(), expected.encode())):
            return None
        device.token, device.valid_until, device.last_used_at = None, now, now
        return ("token", "valid_until", "last_used_at")
