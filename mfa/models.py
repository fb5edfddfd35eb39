"""Second factors, as django-otp devices.

django-otp's own TOTP, static and email devices keep their keys and codes in
plain text; these keep the TOTP key encrypted (core.crypto), recovery codes
under a salted password hash and emailed codes as an HMAC, and reuse
django-otp's Device, throttling, cooldown and TOTP arithmetic.
"""

import base64
import datetime
import hashlib
import hmac
import time
from functools import partial

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, check_password, make_password
from django.db import models, transaction
from django.template.loader import get_template
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.plugins.otp_email.conf import settings as otp_email_settings
from django_otp.plugins.otp_email.models import EmailDevice
from django_otp.util import random_number_token

from core import mail
from core.crypto import EncryptedTextField
from core.localisation import as_recipient

# What Google Authenticator, Microsoft Authenticator, Authy and 1Password all accept.
TOTP_STEP = 30
TOTP_DIGITS = 6
TOTP_TOLERANCE = 1  # one step early or late


_THROTTLE_FIELDS = ("throttling_failure_timestamp", "throttling_failure_count")


class LockedVerificationMixin:
    """Check a code against the device's row locked for update, never against a stale copy.

    Two requests may load the same device at once: without the lock both could
    accept one code, and a failure saved from a stale copy could write back a
    used code. ``accept_code(device, checked)`` does the device's own check on the
    locked row and returns the fields it changed on success; ``checked`` is what
    ``check_unlocked(token)`` made of the code before the lock was taken (the code
    itself unless a device has slow work to do that needs no lock).
    """

    def verify_token(self, token):
        checked = self.check_unlocked(str(token or "").strip())
        with transaction.atomic():
            device = type(self).objects.select_for_update().get(pk=self.pk)
            allowed, _ = device.verify_is_allowed()
            if not allowed:
                return False
            changed = self.accept_code(device, checked)
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

    def check_unlocked(self, token):
        return token

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


# Recovery codes: 16 characters from an alphabet without look-alikes (no 0/o, 1/l/i), shown in
# groups of four. The first character is the code's slot: the ten codes of a set start with ten
# different characters, so a typed code names the one row it can match and is checked with one
# password hash. The other 15 characters (about 74 bits) are the secret.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 16
# check_password() given an unusable hash still runs the default hasher once, on a random string.
_NO_HASH = UNUSABLE_PASSWORD_PREFIX


def normalise_recovery_code(code) -> str:
    """A code as compared: without spaces or dashes, in lower case, as people type it."""
    return "".join(str(code).split()).replace("-", "").lower()


def _is_recovery_code(normalised) -> bool:
    return len(normalised) == RECOVERY_CODE_LENGTH and all(char in RECOVERY_ALPHABET for char in normalised)


class RecoveryCodeDevice(LockedVerificationMixin, ThrottlingMixin, Device):
    """A user's set of single-use recovery codes, each stored under a salted password hash (Argon2id).

    A typed code is looked up by its slot (its first character) and checked with exactly one
    password hash, also when no row matches, so neither the time nor the count of hashes tells
    which slots are in use. Codes stored before slots existed (``slot == ""``, an unsalted
    SHA-256) keep working, compared in constant time as before, until used or replaced.
    """

    def check_unlocked(self, token):
        """The pk of the row ``token`` matches, or None; the slow hash runs before the device is locked.

        So a recovery code never holds the device's lock (on SQLite, the database's) for a hash.
        The locked ``accept_code`` then deletes that row, if it is still there.
        """
        code = normalise_recovery_code(token)
        row = self.codes.filter(slot=code[0]).first() if _is_recovery_code(code) else None
        if check_password(code, row.code_hash if row else _NO_HASH):
            return row.pk
        return self._legacy_match(code)

    def _legacy_match(self, code):
        digest = legacy_recovery_code_digest(code)
        # Compare with every legacy code, in constant time, so the timing tells nothing.
        match = None
        for pk, stored in self.codes.filter(slot="").values_list("pk", "code_hash"):
            if hmac.compare_digest(stored, digest):
                match = pk
        return match

    @staticmethod
    def accept_code(device, code_pk):
        if code_pk is None:
            return None
        # Single use: of two requests that matched the same code, only the first deletes it.
        deleted, _ = RecoveryCode.objects.filter(pk=code_pk, device=device).delete()
        return () if deleted else None


class RecoveryCode(models.Model):
    """One recovery code: its slot (the code's first character) and the whole code's salted hash."""

    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    # Empty for a code stored before slots: its code_hash is then its unsalted SHA-256 in hex.
    slot = models.CharField(max_length=1, blank=True, default="")
    code_hash = models.CharField(max_length=128)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["device", "slot"], condition=~models.Q(slot=""), name="mfa_recovery_code_slot_unique"
            )
        ]

    def __str__(self):
        return f"recovery code {self.pk}"

    @classmethod
    def hashed(cls, code, *, device=None):
        """An unsaved row for ``code`` (as shown or typed): its slot and its salted password hash."""
        normalised = normalise_recovery_code(code)
        if not _is_recovery_code(normalised):
            raise ValueError("not a recovery code")
        return cls(device=device, slot=normalised[0], code_hash=make_password(normalised))


def legacy_recovery_code_digest(code) -> str:
    """How codes made before slots were stored: the normalised code's unsalted SHA-256, in hex."""
    return hashlib.sha256(normalise_recovery_code(code).encode()).hexdigest()


class EmailCodeDevice(LockedVerificationMixin, EmailDevice):
    """django-otp's email device (5-minute codes, 60-second cooldown, throttling) that never stores the code.

    The mailed code is kept only as ``code_digest()``, an HMAC-SHA256 keyed with a key derived from
    SECRET_KEY, in django-otp's ``token`` column while it is valid; it is compared in constant time.
    """

    class Meta:
        proxy = True

    def code_digest(self, code, *, secret=None) -> str:
        """The stored form of ``code``: 96 bits of HMAC-SHA256 over the device and the code, 16 characters.

        Bound to the device, so one code sent to two users is stored differently. 16 characters is
        the width of django-otp's column; 96 bits leave no chance that a wrong code matches.
        """
        mac = salted_hmac("mfa.EmailCodeDevice.code", f"{self.pk}:{code}", secret=secret, algorithm="sha256")
        return base64.urlsafe_b64encode(mac.digest()[:12]).decode("ascii")

    def generate_token(self, length=6, valid_secs=300, commit=True):
        """Like django-otp's, but stores only the code's digest; returns the code, to be mailed."""
        code = random_number_token(length)
        self.token = self.code_digest(code)
        self.valid_until = timezone.now() + datetime.timedelta(seconds=valid_secs)
        if commit:
            self.save()
        return code

    def generate_challenge(self, extra_context=None):
        """Email a fresh code, keeping django-otp's cooldown; the code is in the mail, never in the row."""
        allowed, _ = self.generate_is_allowed()
        if not allowed:
            return super().generate_challenge(extra_context)  # django-otp's refusal; sends nothing
        self.cooldown_set(commit=False)
        code = self.generate_token(valid_secs=otp_email_settings.OTP_EMAIL_TOKEN_VALIDITY, commit=True)
        context = {**(extra_context or {}), "token": code}
        # Panel's settings name the templates by path (OTP_EMAIL_BODY_TEMPLATE_PATH, and an HTML one if set).
        with as_recipient(self.user):  # their language and time zone, not the login page's
            body = get_template(otp_email_settings.OTP_EMAIL_BODY_TEMPLATE_PATH).render(context)
            html_path = otp_email_settings.OTP_EMAIL_BODY_HTML_TEMPLATE_PATH
            html = get_template(html_path).render(context) if html_path else None
        # Sent at once rather than after a commit: the code is what the user waits for, its digest already saved.
        mail.send(partial(self.send_mail, body, html_message=html), about=f"a login code to the user {self.user_id}")
        return "sent by email"

    def send_mail(self, body, **kwargs):
        """django-otp's, with the subject made in the recipient's language (this runs in core.mail's thread)."""
        with as_recipient(self.user):
            super().send_mail(body, **kwargs)

    def get_subject(self):
        # django-otp formats the subject with the token, which here is the digest: never put it in a mail.
        # Written here (not OTP_EMAIL_SUBJECT) so that it is in the recipient's language.
        return gettext("%(panel_name)s login code") % {"panel_name": settings.PANEL_NAME}

    @staticmethod
    def accept_code(device, token):
        now = timezone.now()
        stored = device.token or ""
        if not (stored and now < device.valid_until and token.isascii() and token.isdigit()):
            return None
        # A code mailed just before SECRET_KEY was rotated still works with the fallback key.
        keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
        if not any([hmac.compare_digest(device.code_digest(token, secret=key), stored) for key in keys]):
            return None
        device.token, device.valid_until, device.last_used_at = None, now, now
        return ("token", "valid_until", "last_used_at")
