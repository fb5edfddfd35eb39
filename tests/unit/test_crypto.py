"""Encryption at rest (core.crypto): Fernet keys from settings, rotation, and the key derived from SECRET_KEY."""

import base64

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from core import crypto

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
