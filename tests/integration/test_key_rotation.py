"""Rotating the encryption key as README describes, through the commands, the login and the API.

A TOTP authenticator and an access token are made under key 1; the key is
rotated to key 2 (``PANEL_ENCRYPTION_KEYS="k2,k1"``, ``reencrypt_secrets``, then
``"k2"`` alone), and both must still work. Codes come from pyotp and signatures
from a helper written from DESIGN.md, so the panel is checked against
independent implementations. A key dropped too soon must give a clear answer,
never a 500.
"""

import base64
import datetime
import hashlib
import hmac
import time
from io import StringIO

import pyotp
import pytest
import time_machine
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from core.audit import Origin
from core.models import AuditEvent
from mfa import services as mfa_services
from mfa.models import AuthenticatorDevice
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.integration.api_script import grant_api_module
from tests.integration.conftest import events
from tokens import services as token_services
from tokens.models import AccessToken

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2027, 5, 1, 9, 0, 5, tzinfo=datetime.UTC)  # 5 s into a TOTP step
K1, K2, K3 = (Fernet.generate_key().decode() for _ in range(3))
SETUP = Origin(user_agent="test setup", via="command")
INVALID_TOKEN = {"detail": "invalid token", "errors": None}
TOKEN_FIELD = "tokens.AccessToken.encrypted_secret"
TOTP_FIELD = "mfa.AuthenticatorDevice.encrypted_key"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def keys(settings):
    """Set PANEL_ENCRYPTION_KEYS as the environment would (newest first); core.crypto forgets its keys."""

    def set_keys(*keys):
        settings.PANEL_ENCRYPTION_KEYS = list(keys)

    return set_keys


@pytest.fixture
def enrolled(keys, clock):
    """Under key 1: dave with an authenticator app (and recovery codes) and an access token for the API."""
    keys(K1)
    user = UserFactory(username="dave", email="dave@example.com")
    device = mfa_services.totp_begin(origin=SETUP, user=user)
    # What the authenticator app holds from the QR code: from here on, codes come from pyotp alone.
    user.totp = pyotp.TOTP(base64.b32encode(device.key).decode())
    user.recovery_codes = mfa_services.totp_confirm(origin=SETUP, user=user, device=device, code=user.totp.now())
    grant_api_module(user)
    token, secret = token_services.token_create(origin=SETUP, user=user, long_term=True)
    user.token, user.secret, user.device = token, secret, device
    clock.shift(60)  # past the step of the enrolment code, so the next code is a new one
    return user


def _rotate_to_k2(keys):
    keys(K2, K1)
    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    keys(K2)
    return out.getvalue()


def _command(name, **options):
    """Run ``manage.py name``; (stdout, stderr, exit status) as the shell would see them."""
    out, err = StringIO(), StringIO()
    try:
        call_command(name, stdout=out, stderr=err, **options)
    except CommandError as error:
        err.write(str(error))
        return out.getvalue(), err.getvalue(), error.returncode
    return out.getvalue(), err.getvalue(), 0


def _signed_get(client, token_id, secret, path):
    """A signed request, from DESIGN.md ("AcePanel-compatible request signing"); no query, empty body."""
    timestamp = str(int(time.time()))
    canonical = "\n".join(("GET", path, "", hashlib.sha256(b"").hexdigest()))
    string_to_sign = "\n".join(("HMAC-SHA256", timestamp, hashlib.sha256(canonical.encode()).hexdigest()))
    signature = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = f"HMAC-SHA256 Credential={token_id}, Signature={signature}"
    return client.get(path, headers={"Authorization": authorization, "X-Timestamp": timestamp})


def _bearer_get(client, token_id, secret, path):
    return client.get(path, headers={"Authorization": f"Bearer pnl_{token_id}_{secret}"})


def _password_step(client, username):
    response = client.post("/login/", {"username": username, "password": DEFAULT_PASSWORD})
    assert (response.status_code, response["Location"]) == (302, "/login/verify/")


def _code_step(client, method, code):
    return client.post("/login/verify/", {"action": "verify", "method": method, "code": code})


def _is_logged_in(client):
    return client.get("/account/").status_code == 200


# Rotation as README describes keeps every secret working


def test_reencrypt_secrets_reports_each_encrypted_field(enrolled, keys):
    output = _rotate_to_k2(keys)

    assert f"{TOKEN_FIELD}: re-encrypted 1 row." in output
    assert f"{TOTP_FIELD}: re-encrypted 1 row." in output


def test_after_rotation_the_new_key_alone_opens_every_secret(enrolled, keys):
    _rotate_to_k2(keys)

    stored_token = AccessToken.objects.get(pk=enrolled.token.pk).encrypted_secret
    stored_key = AuthenticatorDevice.objects.get(pk=enrolled.device.pk).encrypted_key
    assert Fernet(K2).decrypt(stored_token.encode()).decode() == enrolled.secret
    assert base64.b32encode(bytes.fromhex(Fernet(K2).decrypt(stored_key.encode()).decode())).decode() == (
        enrolled.totp.secret
    )


def test_after_rotation_the_totp_login_still_works(enrolled, keys, client):
    _rotate_to_k2(keys)
    _password_step(client, "dave")

    response = _code_step(client, "totp", enrolled.totp.now())

    assert response.status_code == 302
    assert _is_logged_in(client)


@pytest.mark.parametrize("send", [_signed_get, _bearer_get], ids=["signed", "bearer"])
def test_after_rotation_the_access_token_still_authenticates(enrolled, keys, client, send):
    _rotate_to_k2(keys)

    response = send(client, enrolled.token.pk, enrolled.secret, "/api/user/info")

    assert response.status_code == 200
    assert response.json()["username"] == "dave"


def test_check_secrets_passes_after_rotation(enrolled, keys):
    _rotate_to_k2(keys)

    out, err, status = _command("check_secrets")

    assert status == 0 and err == ""
    assert f"{TOKEN_FIELD}: 1 open, all under the newest key." in out
    assert f"{TOTP_FIELD}: 1 open, all under the newest key." in out


def test_check_secrets_before_reencrypting_says_what_is_still_under_the_old_key(enrolled, keys):
    keys(K2, K1)

    out, _, status = _command("check_secrets")

    assert status == 0
    assert f"{TOKEN_FIELD}: 1 open; 1 still under an older key (run reencrypt_secrets)." in out


# A key dropped too soon


def test_check_secrets_fails_naming_each_field_and_row_when_a_key_is_missing(enrolled, keys):
    keys(K2)  # k1 dropped without reencrypt_secrets

    out, err, status = _command("check_secrets")

    assert status != 0
    assert f"{TOKEN_FIELD}: 1 of 1 open with none of the keys (rows {enrolled.token.pk})." in err
    assert f"{TOTP_FIELD}: 1 of 1 open with none of the keys (rows {enrolled.device.pk})." in err
    hex_key = base64.b32decode(enrolled.totp.secret).hex()
    assert not any(secret in out + err for secret in (enrolled.secret, enrolled.totp.secret, hex_key))


def test_check_secrets_fails_when_the_key_is_missing_after_rotation(enrolled, keys):
    _rotate_to_k2(keys)
    keys(K3)

    _, err, status = _command("check_secrets")

    assert status != 0
    assert TOKEN_FIELD in err and TOTP_FIELD in err


def test_reencrypt_secrets_with_a_key_missing_changes_nothing(enrolled, keys):
    stored = AccessToken.objects.get(pk=enrolled.token.pk).encrypted_secret
    keys(K2)

    _, err, status = _command("reencrypt_secrets")

    assert status != 0
    assert f"{TOKEN_FIELD}: rows {enrolled.token.pk} open with none of the keys." in err
    assert "Nothing was changed." in err
    assert AccessToken.objects.get(pk=enrolled.token.pk).encrypted_secret == stored


@pytest.mark.parametrize("send", [_signed_get, _bearer_get], ids=["signed", "bearer"])
def test_api_answers_a_json_401_when_no_key_opens_the_token_secret(enrolled, keys, send):
    keys(K2)
    script = Client(raise_request_exception=False)

    response = send(script, enrolled.token.pk, enrolled.secret, "/api/user/info")

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    (event,) = events("token.refused")
    assert event.target_id == str(enrolled.token.pk)
    assert "check_secrets" in event.details["reason"]


def test_api_answers_a_json_503_when_the_keys_are_malformed(enrolled, settings):
    settings.PANEL_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    script = Client(raise_request_exception=False)

    response = _bearer_get(script, enrolled.token.pk, enrolled.secret, "/api/user/info")

    assert response.status_code == 503
    assert response["Retry-After"]
    assert set(response.json()) == {"detail", "errors"}
    assert "not-a-fernet-key" not in response.content.decode()


def test_totp_login_step_shows_a_clear_message_when_no_key_opens_the_totp_key(enrolled, keys):
    keys(K2)
    browser = Client(raise_request_exception=False)
    _password_step(browser, "dave")

    response = _code_step(browser, "totp", enrolled.totp.now())

    assert response.status_code == 503
    assert str(mfa_services.FACTOR_UNAVAILABLE) in response.content.decode()
    assert not _is_logged_in(browser)


def test_totp_login_step_with_an_unreadable_key_is_audited(enrolled, keys):
    keys(K2)
    browser = Client(raise_request_exception=False)
    _password_step(browser, "dave")

    _code_step(browser, "totp", enrolled.totp.now())

    (event,) = events("mfa.verify")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert event.target_id == str(enrolled.pk)
    assert event.details["method"] == "totp"
    assert "check_secrets" in event.details["reason"]


def test_unreadable_totp_key_counts_toward_no_lockout(enrolled, keys):
    keys(K2)
    browser = Client(raise_request_exception=False)
    _password_step(browser, "dave")

    for _ in range(12):
        _code_step(browser, "totp", enrolled.totp.now())
    response = _code_step(browser, "recovery", enrolled.recovery_codes[0])

    assert response.status_code == 302
    assert _is_logged_in(browser)
