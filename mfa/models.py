"""Second factors, as django-otp devices.

django-otp's own TOTP and static devices keep their keys and codes in plain
text; these keep the TOTP key encrypted (panel.crypto) and recovery codes
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

from panel import crypto

# What Google Authenticator, Microsoft Authenticator, Authy and 1Password all accept.
TOTP_STEP = 30
TOTP_DIGITS = 6
TOTP_TOLERANCE = 1  # one step early or late


class AuthenticatorDevice(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP authenticator app (SHA-1, 6 digits, 30-second steps)."""

    encrypted_key = models.TextField()
    # The time step of the last accepted code: a code is accepted once, and never an older one.
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        permissions = [("reset_two_factor", "Can turn off or enrol another user's two-factor authentication")]

    @property
    def key(self) -> bytes:
        return bytes.fromhex(crypto.decrypt(self.encrypted_key))

    def get_throttle_factor(self):
        return 1

    def verify_token(self, token):
        """Whether ``token`` is a current code not used before; failures make the next try wait longer."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        token = str(token).strip()
        if not (token.isascii() and token.isdigit() and len(token) == TOTP_DIGITS):
            self.throttle_increment()
            return False
        with transaction.atomic():
            # Locked, so that two logins racing with the same code cannot both pass.
            device = type(self).objects.select_for_update().get(pk=self.pk)
            totp = TOTP(device.key, step=TOTP_STEP, digits=TOTP_DIGITS)
            totp.time = time.time()
            verified = totp.verify(int(token), tolerance=TOTP_TOLERANCE, min_t=device.last_t + 1)
            if verified:
                device.last_t = totp.t()
                device.throttle_reset(commit=False)
                device.set_last_used_timestamp(commit=False)
                device.save()
                self.last_t, self.last_used_at = device.last_t, device.last_used_at
        if not verified:
            self.throttle_increment()
        return verified


class RecoveryCodeDevice(ThrottlingMixin, Device):
    """A user's set of single-use recovery codes, each stored only as its SHA-256.

    A code carries 80 random bits, so its plain SHA-256 cannot be reversed; a slow
    password hash would only make each login with a code check ten slow hashes.
    """

    def get_throttle_factor(self):
        return 1

    def verify_token(self, token):
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        digest = hash_recovery_code(token)
        with transaction.atomic():
            codes = list(self.codes.select_for_update())
            # Compare with every code, in constant time, so the timing tells nothing.
            match = None
            for code in codes:
                if hmac.compare_digest(code.code_hash, digest):
                    match = code
            if match is not None:
                match.delete()
                self.throttle_reset()
                return True
        self.throttle_increment()
        return False


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)

    def __str__(self):
        return f"recovery code {self.pk}"


def hash_recovery_code(code) -> str:
    """Codes are compared without dashes, spaces or case, as people type them."""
    normalised = "".join(str(code).split()).replace("-", "").lower()
    return hashlib.sha256(normalised.encode()).hexdigest()


class EmailCodeDevice(EmailDevice):
    """django-otp's email device (5-minute codes, 60-second cooldown, throttling), compared in constant time."""

    class Meta:
        proxy = True

    def verify_token(self, token):
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        now = timezone.now()
        expected = self.token or ""
        verified = (
            bool(expected)
            and now < self.valid_until
            and hmac.compare_digest(str(token).strip().encode(), expected.encode())
        )
        if verified:
            self.token, self.valid_until = None, now
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save()
        else:
            self.throttle_increment()
        return verified
