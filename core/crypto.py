"""Encryption at rest for secrets the panel must read again (token secrets, TOTP keys).

Keys come from ``PANEL_ENCRYPTION_KEYS`` (Fernet keys, comma-separated, newest
first): the first encrypts, all of them decrypt, so a key is rotated by putting
a new one in front and re-encrypting (``manage.py reencrypt_secrets``) before the
old one is dropped. A key derived from SECRET_KEY comes last: with no keys
configured it encrypts (a database dump alone never holds a usable secret), and
once keys are configured it still opens what it encrypted until
``reencrypt_secrets`` has moved everything to the configured key. After it, the
keys derived from SECRET_KEY_FALLBACKS, so rotating SECRET_KEY loses nothing
encrypted under the key derived from the old one.

Every stored secret is an ``EncryptedTextField``; ``encrypted_fields()`` finds
them all, so the rotation commands cover a new secret without being told of it.
"""

import base64
import binascii
import dataclasses
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import models, transaction
from django.dispatch import receiver
from django.utils.translation import gettext_lazy

__all__ = [
    "EncryptedTextField",
    "FieldCheck",
    "InvalidToken",
    "SecretUnreadable",
    "check_field",
    "decrypt",
    "encrypt",
    "encrypted_fields",
    "field_label",
    "reencrypt",
    "reencrypt_field",
]

BATCH_SIZE = 500
REPAIR_ADVICE = gettext_lazy(
    "Put the missing key back in PANEL_ENCRYPTION_KEYS (after the newest one), then run "
    "`manage.py check_secrets` to list what it cannot open and `manage.py reencrypt_secrets` "
    "to move every secret to the newest key."
)


def _derived_key(secret_key):
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"panel encryption at rest")
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


@functools.cache
def _fernets():
    secret_keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    keys = [*settings.PANEL_ENCRYPTION_KEYS, *map(_derived_key, secret_keys)]
    try:
        return tuple(Fernet(key) for key in keys)
    except ValueError:
        raise ImproperlyConfigured(
            "PANEL_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes each)."
        ) from None


@functools.cache
def _fernet():
    return MultiFernet(_fernets())


@receiver(setting_changed)
def _forget_keys(*, setting, **kwargs):
    if setting in {"PANEL_ENCRYPTION_KEYS", "SECRET_KEY", "SECRET_KEY_FALLBACKS"}:
        _fernets.cache_clear()
        _fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """The plaintext; raises InvalidToken if no configured key opens it."""
    return _fernet().decrypt(ciphertext.encode()).decode()


def reencrypt(ciphertext: str) -> str:
    """The same plaintext encrypted under the newest key."""
    return _fernet().rotate(ciphertext.encode()).decode()


def _opens_with_newest_key(ciphertext: str) -> bool:
    try:
        _fernets()[0].decrypt(ciphertext.encode())
    except InvalidToken:
        return False
    return True


def _is_fernet_token(value: str) -> bool:
    # Version byte 0x80, 8-byte timestamp, 16-byte IV, at least one AES block, 32-byte HMAC.
    try:
        raw = base64.urlsafe_b64decode(value.encode())
    except (binascii.Error, ValueError):
        return False
    return len(raw) >= 73 and raw[0] == 0x80


class SecretUnreadable(InvalidToken):
    """A stored secret that no configured key opens (a key was dropped too soon).

    The message names the model, field and row, and the commands that repair it; never the secret.
    """

    def __init__(self, *, label, pk):
        self.label, self.pk = label, pk
        super().__init__(f"{label} of row {pk} opens with none of the configured keys. {REPAIR_ADVICE}")


def field_label(field) -> str:
    """``app_label.Model.field``, as the commands and errors name a field."""
    return f"{field.model._meta.label}.{field.name}"


class EncryptedTextField(models.TextField):
    """A secret stored as a Fernet token under the keys of PANEL_ENCRYPTION_KEYS.

    The field's own attribute holds the stored token exactly as in the database,
    so loading, listing, serializing or dumping a row never decrypts: a dump holds
    no plaintext, and a missing key breaks only the reads that need the secret.
    ``plaintext`` names the property the field adds to its model for code that
    needs the secret: reading it decrypts (raising SecretUnreadable when no key
    opens it), setting it (or passing it to the constructor) encrypts under the
    newest key. A value that is not a Fernet token is never written.
    """

    description = "Text encrypted at rest (Fernet)"
    non_db_attrs = (*models.TextField.non_db_attrs, "plaintext")

    def __init__(self, *args, plaintext, **kwargs):
        self.plaintext = plaintext
        kwargs.setdefault("editable", False)  # no ModelForm ever shows or takes the ciphertext
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["plaintext"] = self.plaintext
        if kwargs.get("editable") is False:
            del kwargs["editable"]
        else:
            kwargs["editable"] = True
        return name, path, args, kwargs

    def contribute_to_class(self, cls, name, *args, **kwargs):
        super().contribute_to_class(cls, name, *args, **kwargs)
        attname = self.attname

        def read(instance):
            ciphertext = getattr(instance, attname)
            if ciphertext is None:
                return None
            try:
                return decrypt(ciphertext)
            except InvalidToken:
                raise SecretUnreadable(label=field_label(self), pk=instance.pk) from None

        def write(instance, plaintext):
            setattr(instance, attname, None if plaintext is None else encrypt(plaintext))

        # A plain property, so that Model(**{plaintext: ...}) accepts it as a keyword.
        setattr(cls, self.plaintext, property(read, write, doc=f"The plaintext of {name}."))

    def get_db_prep_save(self, value, connection):
        written = value is not None and not hasattr(value, "resolve_expression")
        if written and not (isinstance(value, str) and _is_fernet_token(value)):
            # Plaintext assigned to the ciphertext attribute must fail loudly, not be stored.
            raise ValueError(f"{field_label(self)} takes a Fernet token: set .{self.plaintext} instead.")
        return super().get_db_prep_save(value, connection)


def encrypted_fields() -> list[EncryptedTextField]:
    """Every EncryptedTextField of every installed concrete model (``field.model`` says whose)."""
    return [
        field
        for model in apps.get_models()
        if not (model._meta.proxy or model._meta.abstract)
        for field in model._meta.local_concrete_fields
        if isinstance(field, EncryptedTextField)
    ]


def _stored_values(field, *, batch_size):
    rows = field.model._base_manager.exclude(**{f"{field.attname}__isnull": True})
    return rows.order_by("pk").values_list("pk", field.attname).iterator(chunk_size=batch_size)


@dataclasses.dataclass
class FieldCheck:
    """What ``check_field`` found: rows with a value, those not yet under the newest key, and those no key opens."""

    field: EncryptedTextField
    rows: int = 0
    stale: int = 0
    unreadable: list = dataclasses.field(default_factory=list)


def check_field(*, field, batch_size=BATCH_SIZE) -> FieldCheck:
    """Try every stored value of ``field`` with the configured keys; changes nothing."""
    check = FieldCheck(field=field)
    for pk, ciphertext in _stored_values(field, batch_size=batch_size):
        check.rows += 1
        try:
            decrypt(ciphertext)
        except InvalidToken:
            check.unreadable.append(pk)
            continue
        if not _opens_with_newest_key(ciphertext):
            check.stale += 1
    return check


def reencrypt_field(*, field, batch_size=BATCH_SIZE) -> int:
    """Encrypt every stored value of ``field`` under the newest key; returns how many rows.

    One transaction per batch, its rows locked. Raises SecretUnreadable at the
    first value no key opens; the batches before it stay done, which is harmless
    (they are readable under the same keys). Run ``check_field`` first to change
    nothing in that case.
    """
    manager = field.model._base_manager
    count, last_pk = 0, None
    while True:
        with transaction.atomic():
            rows = manager.select_for_update().order_by("pk").only("pk", field.attname)
            rows = rows.exclude(**{f"{field.attname}__isnull": True})
            if last_pk is not None:
                rows = rows.filter(pk__gt=last_pk)
            batch = list(rows[:batch_size])
            if not batch:
                return count
            for row in batch:
                try:
                    setattr(row, field.attname, reencrypt(getattr(row, field.attname)))
                except InvalidToken:
                    raise SecretUnreadable(label=field_label(field), pk=row.pk) from None
            manager.bulk_update(batch, [field.name])
        count += len(batch)
        last_pk = batch[-1].pk
