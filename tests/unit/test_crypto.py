"""Encryption at rest (core.crypto): Fernet keys from settings, rotation, the key derived from SECRET_KEY,
the encrypted field and the registry of every such field."""

import base64
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.core import serializers
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.forms import modelform_factory
from django.utils import timezone

from core import crypto
from tests.factories import UserFactory
from tokens.models import AccessToken

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
PLAINTEXT = "a-token-secret-of-43-characters-xxxxxxxxxxx"


@pytest.fixture
def keys(settings):
    """Set PANEL_ENCRYPTION_KEYS (newest first); core.crypto forgets its keys on each change."""

    def set_keys(*keys):
        settings.PANEL_ENCRYPTION_KEYS = list(keys)

    return set_keys


def test_decrypt_gives_back_what_was_encrypted(keys):
    keys(OLD_KEY)

    assert crypto.decrypt(crypto.encrypt(PLAINTEXT)) == PLAINTEXT


def test_ciphertext_does_not_contain_the_plaintext(keys):
    keys(OLD_KEY)

    assert PLAINTEXT not in crypto.encrypt(PLAINTEXT)


def test_same_plaintext_encrypts_differently_each_time(keys):
    keys(OLD_KEY)

    assert crypto.encrypt(PLAINTEXT) != crypto.encrypt(PLAINTEXT)


def test_ciphertext_is_a_fernet_token_of_the_first_key(keys):
    keys(NEW_KEY, OLD_KEY)

    ciphertext = crypto.encrypt(PLAINTEXT)

    assert Fernet(NEW_KEY).decrypt(ciphertext.encode()).decode() == PLAINTEXT


def test_ciphertext_of_another_key_is_refused(keys):
    keys(OLD_KEY)
    ciphertext = crypto.encrypt(PLAINTEXT)
    keys(NEW_KEY)

    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(ciphertext)


def test_tampered_ciphertext_is_refused(keys):
    keys(OLD_KEY)
    ciphertext = crypto.encrypt(PLAINTEXT)
    raw = bytearray(base64.urlsafe_b64decode(ciphertext))
    raw[40] ^= 0x01  # a byte of the encrypted payload
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode()

    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(tampered)


def test_new_key_in_front_still_decrypts_what_the_old_key_encrypted(keys):
    keys(OLD_KEY)
    ciphertext = crypto.encrypt(PLAINTEXT)
    keys(NEW_KEY, OLD_KEY)

    assert crypto.decrypt(ciphertext) == PLAINTEXT


def test_reencrypt_makes_old_ciphertext_readable_by_the_new_key_alone(keys):
    keys(OLD_KEY)
    ciphertext = crypto.encrypt(PLAINTEXT)
    keys(NEW_KEY, OLD_KEY)

    rotated = crypto.reencrypt(ciphertext)
    keys(NEW_KEY)

    assert crypto.decrypt(rotated) == PLAINTEXT


def test_reencrypted_ciphertext_is_no_longer_readable_by_the_old_key(keys):
    keys(OLD_KEY)
    ciphertext = crypto.encrypt(PLAINTEXT)
    keys(NEW_KEY, OLD_KEY)

    rotated = crypto.reencrypt(ciphertext)
    keys(OLD_KEY)

    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(rotated)


@pytest.mark.parametrize(
    "bad_key",
    [
        pytest.param("not-a-fernet-key", id="not-base64"),
        pytest.param("c2hvcnQ=", id="too-short"),
        pytest.param("", id="empty"),
    ],
)
def test_malformed_key_is_a_configuration_error(keys, bad_key):
    keys(bad_key)

    with pytest.raises(ImproperlyConfigured, match="PANEL_ENCRYPTION_KEYS"):
        crypto.encrypt(PLAINTEXT)


def test_malformed_key_behind_a_good_one_is_a_configuration_error(keys):
    keys(NEW_KEY, "not-a-fernet-key")

    with pytest.raises(ImproperlyConfigured):
        crypto.decrypt(Fernet(NEW_KEY).encrypt(b"x").decode())


def test_configuration_error_does_not_show_the_key(keys):
    keys("not-a-fernet-key-but-a-secret")

    with pytest.raises(ImproperlyConfigured) as caught:
        crypto.encrypt(PLAINTEXT)

    assert "not-a-fernet-key-but-a-secret" not in str(caught.value)


# The default key, derived from SECRET_KEY


def test_without_configured_keys_a_key_derived_from_secret_key_round_trips(settings):
    settings.PANEL_ENCRYPTION_KEYS = []
    settings.SECRET_KEY = "first-secret-key-" + "x" * 40

    assert crypto.decrypt(crypto.encrypt(PLAINTEXT)) == PLAINTEXT


def test_derived_key_is_the_same_for_the_same_secret_key(settings):
    settings.PANEL_ENCRYPTION_KEYS = []
    settings.SECRET_KEY = "first-secret-key-" + "x" * 40
    ciphertext = crypto.encrypt(PLAINTEXT)
    settings.SECRET_KEY = "second-secret-key-" + "y" * 40
    settings.SECRET_KEY = "first-secret-key-" + "x" * 40

    assert crypto.decrypt(ciphertext) == PLAINTEXT


def test_derived_key_depends_on_secret_key(settings):
    settings.PANEL_ENCRYPTION_KEYS = []
    settings.SECRET_KEY = "first-secret-key-" + "x" * 40
    ciphertext = crypto.encrypt(PLAINTEXT)
    settings.SECRET_KEY = "second-secret-key-" + "y" * 40

    with pytest.raises(crypto.InvalidToken):
        crypto.decrypt(ciphertext)


def test_configured_key_encrypts_instead_of_the_derived_key(settings):
    settings.PANEL_ENCRYPTION_KEYS = [NEW_KEY]

    ciphertext = crypto.encrypt(PLAINTEXT)

    assert Fernet(NEW_KEY).decrypt(ciphertext.encode()).decode() == PLAINTEXT


def test_what_the_derived_key_encrypted_stays_readable_once_keys_are_configured(settings):
    settings.PANEL_ENCRYPTION_KEYS = []
    ciphertext = crypto.encrypt(PLAINTEXT)
    settings.PANEL_ENCRYPTION_KEYS = [NEW_KEY]

    assert crypto.decrypt(ciphertext) == PLAINTEXT


def test_reencrypt_moves_what_the_derived_key_encrypted_to_the_configured_key(settings):
    settings.PANEL_ENCRYPTION_KEYS = []
    settings.SECRET_KEY = "first-secret-key-" + "x" * 40
    ciphertext = crypto.encrypt(PLAINTEXT)
    settings.PANEL_ENCRYPTION_KEYS = [NEW_KEY]

    rotated = crypto.reencrypt(ciphertext)
    settings.SECRET_KEY = "second-secret-key-" + "y" * 40

    assert crypto.decrypt(rotated) == PLAINTEXT


# EncryptedTextField: the stored Fernet token in its attribute, the plaintext through its property


def _token_row(**fields):
    return AccessToken.objects.create(user=UserFactory(), expires_at=timezone.now() + timedelta(days=1), **fields)


def _stored_column(token):
    """The column exactly as the database holds it, read without the ORM's field."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT encrypted_secret FROM tokens_accesstoken WHERE id = %s", [token.pk])
        return cursor.fetchone()[0]


def _secret_from_database(token):
    return AccessToken.objects.get(pk=token.pk).secret


@pytest.mark.django_db
def test_encrypted_field_stores_a_fernet_token_under_the_newest_key(keys):
    keys(NEW_KEY, OLD_KEY)

    token = _token_row(secret=PLAINTEXT)

    stored = _stored_column(token)
    assert PLAINTEXT not in stored
    assert Fernet(NEW_KEY).decrypt(stored.encode()).decode() == PLAINTEXT


@pytest.mark.django_db
def test_encrypted_field_attribute_holds_exactly_the_stored_token(keys):
    keys(NEW_KEY)
    token = _token_row(secret=PLAINTEXT)

    assert AccessToken.objects.get(pk=token.pk).encrypted_secret == _stored_column(token)


@pytest.mark.django_db
def test_plaintext_property_reads_back_what_was_set(keys):
    keys(NEW_KEY)
    token = _token_row(secret=PLAINTEXT)

    assert AccessToken.objects.get(pk=token.pk).secret == PLAINTEXT


@pytest.mark.django_db
def test_a_token_written_before_the_field_existed_reads_back(keys):
    keys(OLD_KEY)
    token = _token_row(secret="placeholder")
    with connection.cursor() as cursor:  # as the plain TextField stored it: crypto.encrypt's output
        cursor.execute(
            "UPDATE tokens_accesstoken SET encrypted_secret = %s WHERE id = %s", [crypto.encrypt(PLAINTEXT), token.pk]
        )

    assert AccessToken.objects.get(pk=token.pk).secret == PLAINTEXT


@pytest.mark.django_db
def test_encrypted_field_refuses_to_store_plaintext(keys):
    keys(NEW_KEY)
    token = _token_row(secret=PLAINTEXT)
    stored = _stored_column(token)
    token.encrypted_secret = "a-plaintext-secret"

    with pytest.raises(ValueError, match=r"tokens\.AccessToken\.encrypted_secret"), transaction.atomic():
        token.save()

    assert _stored_column(token) == stored


@pytest.mark.django_db
def test_unreadable_secret_raises_an_error_naming_model_field_row_and_commands(keys):
    keys(OLD_KEY)
    token = _token_row(secret=PLAINTEXT)
    keys(NEW_KEY)  # the old key dropped before reencrypt_secrets

    with pytest.raises(crypto.SecretUnreadable) as caught:
        _secret_from_database(token)

    message = str(caught.value)
    assert f"tokens.AccessToken.encrypted_secret of row {token.pk}" in message
    assert "check_secrets" in message and "reencrypt_secrets" in message
    assert PLAINTEXT not in message and token.encrypted_secret not in message


@pytest.mark.django_db
def test_unreadable_secret_is_still_an_invalid_token(keys):
    keys(OLD_KEY)
    token = _token_row(secret=PLAINTEXT)
    keys(NEW_KEY)

    with pytest.raises(crypto.InvalidToken):
        _secret_from_database(token)


@pytest.mark.django_db
def test_loading_and_serializing_a_row_never_needs_the_key(keys):
    keys(OLD_KEY)
    token = _token_row(secret=PLAINTEXT, name="deploy")
    keys(NEW_KEY)

    loaded = AccessToken.objects.get(pk=token.pk)
    serialized = serializers.serialize("json", [loaded])

    assert loaded.name == "deploy"
    assert token.encrypted_secret in serialized
    assert PLAINTEXT not in serialized


def test_model_forms_never_offer_the_encrypted_field():
    form_class = modelform_factory(AccessToken, fields="__all__")

    assert "encrypted_secret" not in form_class.base_fields


def test_encrypted_field_deconstructs_with_its_plaintext_name():
    _, path, args, kwargs = AccessToken._meta.get_field("encrypted_secret").deconstruct()

    assert (path, args, kwargs) == ("core.crypto.EncryptedTextField", [], {"plaintext": "secret"})


# The registry of encrypted fields


def test_registry_lists_every_secret_of_the_installed_apps():
    labels = {crypto.field_label(field) for field in crypto.encrypted_fields()}

    assert labels == {"tokens.AccessToken.encrypted_secret", "mfa.AuthenticatorDevice.encrypted_key"}


def test_every_field_named_encrypted_is_an_encrypted_field():
    named = {
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.local_concrete_fields
        if field.name.startswith("encrypted")
    }

    assert named == {crypto.field_label(field) for field in crypto.encrypted_fields()}


# check_field and reencrypt_field


def _secret_field():
    return AccessToken._meta.get_field("encrypted_secret")


@pytest.mark.django_db
def test_check_field_counts_rows_under_an_older_key_and_names_those_no_key_opens(keys):
    keys(OLD_KEY)
    older = _token_row(secret=PLAINTEXT)
    keys(NEW_KEY)
    newest = _token_row(secret=PLAINTEXT)
    keys(Fernet.generate_key().decode())
    lost = _token_row(secret=PLAINTEXT)
    keys(NEW_KEY, OLD_KEY)

    check = crypto.check_field(field=_secret_field())

    assert (check.rows, check.stale, check.unreadable) == (3, 1, [lost.pk])
    assert newest.pk not in check.unreadable and older.pk not in check.unreadable


@pytest.mark.django_db
def test_reencrypt_field_moves_every_row_to_the_newest_key_in_batches(keys):
    keys(OLD_KEY)
    tokens = [_token_row(secret=f"{PLAINTEXT}-{n}") for n in range(5)]
    keys(NEW_KEY, OLD_KEY)

    assert crypto.reencrypt_field(field=_secret_field(), batch_size=2) == 5

    keys(NEW_KEY)
    assert [AccessToken.objects.get(pk=token.pk).secret for token in tokens] == [f"{PLAINTEXT}-{n}" for n in range(5)]


@pytest.mark.django_db
def test_reencrypt_field_names_the_row_no_key_opens(keys):
    keys(OLD_KEY)
    token = _token_row(secret=PLAINTEXT)
    keys(NEW_KEY)

    with pytest.raises(crypto.SecretUnreadable, match=f"row {token.pk} "):
        crypto.reencrypt_field(field=_secret_field())
