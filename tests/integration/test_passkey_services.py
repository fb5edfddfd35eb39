"""Passkey ceremonies through passkeys.services, answered by a software authenticator.

What registration stores, what login accepts, and everything refused: a response
bent by the authenticator (no user verification, another RP ID or origin, a
counter gone back), a challenge reused, expired or used for the other ceremony,
another user's credential or handle, and garbage. After every refusal nothing is
half-written: the passkey and user-handle rows are exactly as they were.
"""

import contextlib
import datetime
import hashlib
import json
import os
import types

import cbor2
import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.audit import Origin
from core.models import AuditEvent
from passkeys import challenges, services
from passkeys.models import CREDENTIAL_ID_MAX_BYTES, NAME_MAX_LENGTH, USER_HANDLE_BYTES, Passkey, UserHandle
from passkeys.relying_party import RelyingParty
from tests import soft_authenticator
from tests.factories import UserFactory
from tests.integration.conftest import events
from tests.soft_authenticator import SoftAuthenticator, b64url, from_b64url

pytestmark = pytest.mark.django_db

RP = RelyingParty("localhost", "Panel", ("http://localhost",))
ANONYMOUS = Origin(ip="192.0.2.20", user_agent="passkey-test")
T0 = datetime.datetime(2025, 3, 1, 9, 0, 0, tzinfo=datetime.UTC)

FAILURE = AuditEvent.Outcome.FAILURE
SUCCESS = AuditEvent.Outcome.SUCCESS


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", email="bob@example.com")


@pytest.fixture
def authenticator():
    return SoftAuthenticator()


@pytest.fixture
def issued(monkeypatch):
    """Every challenge issued during the test, as (ceremony, bound_to)."""
    calls = []
    real_issue = challenges.issue

    def spy(*, ceremony, bound_to):
        calls.append((ceremony, bound_to))
        return real_issue(ceremony=ceremony, bound_to=bound_to)

    monkeypatch.setattr(challenges, "issue", spy)
    return calls


@pytest.fixture
def local_memory_cache():
    backend = settings.CACHES["default"]["BACKEND"]
    if "redis" in backend.lower():
        pytest.skip("time_machine moves only this process's clock; Redis expires keys by its own clock")
    assert backend == "django.core.cache.backends.locmem.LocMemCache", backend


# Helpers


def _web(user):
    return Origin(actor=user, ip="192.0.2.10", user_agent="passkey-test")


def _registration_options(user, name="Laptop"):
    return json.loads(services.registration_options(user=user, rp=RP, name=name))


def _login_options():
    return json.loads(services.login_options(rp=RP))


def _finish_registration(user, credential):
    return services.passkey_register(origin=_web(user), user=user, rp=RP, credential=credential)


def _register(authenticator, user, name="Laptop", **answer):
    """A whole registration ceremony; returns the stored Passkey."""
    return _finish_registration(user, authenticator.register(_registration_options(user, name), **answer))


def _log_in(authenticator, **answer):
    """A whole login ceremony; returns the user it logs in."""
    credential = authenticator.login(_login_options(), **answer)
    return services.passkey_authenticate(origin=ANONYMOUS, rp=RP, credential=credential)


def _stored_rows():
    """Every passkey and user-handle row, every field that a ceremony may write."""
    passkeys = [
        (
            p.pk,
            p.user_id,
            p.name,
            bytes(p.credential_id),
            bytes(p.public_key),
            p.sign_count,
            p.backed_up,
            p.last_used_at,
        )
        for p in Passkey.objects.order_by("pk")
    ]
    handles = [(h.user_id, bytes(h.handle)) for h in UserHandle.objects.order_by("user_id")]
    return passkeys, handles


@contextlib.contextmanager
def _refused(message=None):
    """The block raises PasskeyRefused (with ``message``, if given) and writes no passkey or handle."""
    before = _stored_rows()
    count = Passkey.objects.count()
    with pytest.raises(services.PasskeyRefused) as refusal:
        yield refusal
    assert Passkey.objects.count() == count
    assert _stored_rows() == before
    if message is not None:
        assert str(refusal.value) == message


def _handle_of(user):
    return bytes(UserHandle.objects.get(user=user).handle)


@contextlib.contextmanager
def _credential_ids(value):
    """The soft authenticator makes credentials with this ID (it draws IDs from os.urandom)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(soft_authenticator, "os", types.SimpleNamespace(urandom=lambda size: value))
        yield


# Registration: what is stored


@pytest.mark.parametrize(
    ("backup_eligible", "backed_up"),
    [(False, False), (True, False), (True, True)],
    ids=["device-bound", "synced-not-yet-backed-up", "synced-backed-up"],
)
def test_registration_stores_the_credential_the_authenticator_made(alice, backup_eligible, backed_up):
    authenticator = SoftAuthenticator(aaguid=bytes(range(16)), backup_eligible=backup_eligible, backed_up=backed_up)

    passkey = _register(authenticator, alice, name="Laptop")

    stored = Passkey.objects.get()
    made = authenticator.credentials[-1]
    assert stored.pk == passkey.pk
    assert stored.user == alice
    assert stored.name == "Laptop"
    assert bytes(stored.credential_id) == made.credential_id
    public_numbers = made.private_key.public_key().public_numbers()
    assert cbor2.loads(bytes(stored.public_key)) == {
        1: 2,  # kty: EC2
        3: -7,  # alg: ES256
        -1: 1,  # crv: P-256
        -2: public_numbers.x.to_bytes(32, "big"),
        -3: public_numbers.y.to_bytes(32, "big"),
    }
    assert stored.sign_count == 0
    assert stored.transports == ["internal", "hybrid"]
    assert stored.aaguid == "00010203-0405-0607-0809-0a0b0c0d0e0f"
    assert stored.backup_eligible is backup_eligible
    assert stored.backed_up is backed_up
    assert stored.last_used_at is None


def test_registration_writes_an_audit_event(alice, authenticator):
    passkey = _register(authenticator, alice, name="Laptop")

    [event] = events("passkey.register")
    assert event.outcome == SUCCESS
    assert event.actor == alice
    assert (event.target_type, event.target_id) == ("passkey", str(passkey.pk))
    assert event.details == {"owner": "alice", "name": "Laptop", "synced": False, "via": "web"}


@pytest.mark.parametrize(
    ("sent", "stored"),
    [(None, []), ("usb", []), (["usb", "carrier-pigeon", 7], ["usb"]), ([], [])],
    ids=["missing", "not a list", "unknown ones", "empty"],
)
def test_transports_the_panel_does_not_know_are_dropped(alice, authenticator, sent, stored):
    credential = authenticator.register(_registration_options(alice))
    if sent is None:
        del credential["response"]["transports"]
    else:
        credential["response"]["transports"] = sent

    assert _finish_registration(alice, credential).transports == stored


def test_the_user_handle_is_64_random_bytes_kept_in_user_handle(alice, authenticator):
    options = _registration_options(alice)
    _finish_registration(alice, authenticator.register(options))

    handle = _handle_of(alice)
    assert len(handle) == USER_HANDLE_BYTES == 64
    assert handle == from_b64url(options["user"]["id"])
    assert handle == authenticator.credentials[-1].user_handle
    pk = str(alice.pk).encode()
    assert handle not in {pk, pk.rjust(64, b"0"), alice.pk.to_bytes(64, "big"), hashlib.sha512(pk).digest()}


def test_the_user_handle_is_drawn_at_random_not_derived_from_the_account(alice, bob):
    """Until a passkey is registered, every ceremony offers a new handle; two users never share one."""
    first = from_b64url(_registration_options(alice)["user"]["id"])
    second = from_b64url(_registration_options(alice)["user"]["id"])
    bobs = from_b64url(_registration_options(bob)["user"]["id"])

    assert len({first, second, bobs}) == 3
    assert not UserHandle.objects.exists()  # only a finished registration keeps one


def test_a_second_registration_reuses_the_handle_and_excludes_the_first_credential(alice, authenticator):
    first = _register(authenticator, alice, name="Laptop")
    handle = _handle_of(alice)

    options = _registration_options(alice, name="Phone")

    assert from_b64url(options["user"]["id"]) == handle
    assert options["excludeCredentials"] == [{"id": b64url(bytes(first.credential_id)), "type": "public-key"}]
    second = _finish_registration(alice, authenticator.register(options))
    assert second.name == "Phone"
    assert bytes(second.credential_id) != bytes(first.credential_id)
    assert UserHandle.objects.filter(user=alice).count() == 1
    assert _handle_of(alice) == handle


def test_another_users_credentials_are_not_excluded(alice, bob, authenticator):
    _register(authenticator, bob, name="Laptop")

    assert _registration_options(alice)["excludeCredentials"] == []


def test_registration_options_require_a_discoverable_credential_and_user_verification(alice):
    options = _registration_options(alice)

    assert options["rp"] == {"id": "localhost", "name": "Panel"}
    assert options["user"]["name"] == "alice"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["requireResidentKey"] is True
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["timeout"] == settings.PANEL_PASSKEY_CEREMONY_SECONDS * 1000
    assert len(from_b64url(options["challenge"])) >= 16


def test_login_options_require_user_verification_and_name_no_credentials(alice, authenticator):
    _register(authenticator, alice)

    options = _login_options()

    assert options["rpId"] == "localhost"
    assert options["userVerification"] == "required"
    assert options["allowCredentials"] == []  # discoverable: the authenticator offers what it holds
    assert options["timeout"] == settings.PANEL_PASSKEY_CEREMONY_SECONDS * 1000


# Login: success


def test_login_returns_the_user_and_records_the_use(alice, authenticator):
    passkey = _register(authenticator, alice)

    with time_machine.travel(T0, tick=False):
        user = _log_in(authenticator)

    assert user == alice
    passkey.refresh_from_db()
    assert passkey.sign_count == 1
    assert passkey.last_used_at == T0
    [event] = events("passkey.login")
    assert event.outcome == SUCCESS
    assert event.actor is None
    assert event.ip == ANONYMOUS.ip
    assert (event.target_type, event.target_id) == ("passkey", str(passkey.pk))
    assert event.details == {"owner": "alice", "via": "web"}


def test_each_login_moves_the_counter_on(alice, authenticator):
    passkey = _register(authenticator, alice)

    for expected in (1, 2, 3):
        assert _log_in(authenticator) == alice
        passkey.refresh_from_db()
        assert passkey.sign_count == expected
    assert _log_in(authenticator, sign_count=1000) == alice  # a jump forward is fine
    passkey.refresh_from_db()
    assert passkey.sign_count == 1000
    assert [event.outcome for event in events("passkey.login")] == [SUCCESS] * 4


def test_login_keeps_the_backed_up_flag_current(alice):
    authenticator = SoftAuthenticator(backup_eligible=True, backed_up=False)
    passkey = _register(authenticator, alice)

    authenticator.backed_up = True
    _log_in(authenticator)

    passkey.refresh_from_db()
    assert passkey.backed_up is True


def test_authenticators_that_keep_no_counter_log_in_again_and_again(alice):
    authenticator = SoftAuthenticator(counts_signatures=False)
    passkey = _register(authenticator, alice)

    for _ in range(3):
        assert _log_in(authenticator) == alice

    passkey.refresh_from_db()
    assert passkey.sign_count == 0
    assert [event.outcome for event in events("passkey.login")] == [SUCCESS] * 3
    assert not events("passkey.clone_suspected")


# User verification, RP ID and origin


def test_registration_without_user_verification_is_refused(alice, authenticator):
    options = _registration_options(alice)

    with _refused():
        _finish_registration(alice, authenticator.register(options, user_verified=False))

    assert not UserHandle.objects.exists()
    [event] = events("passkey.register")
    assert event.outcome == FAILURE
    assert "verification" in event.details["reason"].lower()


def test_login_without_user_verification_is_refused(alice, authenticator):
    passkey = _register(authenticator, alice)

    with _refused(services.NOT_ACCEPTED):
        _log_in(authenticator, user_verified=False)

    [event] = events("passkey.login")
    assert (event.outcome, event.target_id) == (FAILURE, str(passkey.pk))
    assert "verification" in event.details["reason"].lower()


def test_registration_signed_for_another_rp_id_is_refused(alice, authenticator):
    options = _registration_options(alice)

    with _refused():
        _finish_registration(alice, authenticator.register(options, rp_id="evil.example"))

    [event] = events("passkey.register")
    assert event.outcome == FAILURE
    assert "RP ID" in event.details["reason"]


def test_login_signed_for_another_rp_id_is_refused(alice, authenticator):
    _register(authenticator, alice)

    with _refused(services.NOT_ACCEPTED):
        _log_in(authenticator, rp_id="evil.example")

    [event] = events("passkey.login")
    assert event.outcome == FAILURE
    assert "RP ID" in event.details["reason"]


@pytest.mark.parametrize("origin", ["http://evil.localhost", "https://localhost", "http://localhost:8000"])
def test_registration_from_another_origin_is_refused(alice, authenticator, origin):
    options = _registration_options(alice)

    with _refused():
        _finish_registration(alice, authenticator.register(options, origin=origin))

    [event] = events("passkey.register")
    assert event.outcome == FAILURE
    assert "origin" in event.details["reason"]


@pytest.mark.parametrize("origin", ["http://evil.localhost", "https://localhost", "http://localhost:8000"])
def test_login_from_another_origin_is_refused(alice, authenticator, origin):
    _register(authenticator, alice)

    with _refused(services.NOT_ACCEPTED):
        _log_in(authenticator, origin=origin)

    [event] = events("passkey.login")
    assert event.outcome == FAILURE
    assert "origin" in event.details["reason"]


# Challenges: single use, one ceremony, short-lived


def test_a_login_response_posted_twice_is_refused_the_second_time(alice, authenticator):
    passkey = _register(authenticator, alice)
    credential = authenticator.login(_login_options())

    assert services.passkey_authenticate(origin=ANONYMOUS, rp=RP, credential=credential) == alice
    with _refused(services.EXPIRED):
        services.passkey_authenticate(origin=ANONYMOUS, rp=RP, credential=credential)

    passkey.refresh_from_db()
    assert passkey.sign_count == 1
    assert [event.outcome for event in events("passkey.login")] == [SUCCESS]


def test_a_registration_response_posted_twice_is_refused_the_second_time(alice, authenticator):
    credential = authenticator.register(_registration_options(alice))

    _finish_registration(alice, credential)
    with _refused(services.EXPIRED):
        _finish_registration(alice, credential)

    assert Passkey.objects.count() == 1


def test_a_registration_challenge_cannot_be_used_to_log_in(alice, authenticator):
    _register(authenticator, alice)
    registration_options = _registration_options(alice, name="Phone")

    with _refused(services.EXPIRED):
        services.passkey_authenticate(
            origin=ANONYMOUS, rp=RP, credential=authenticator.login({"challenge": registration_options["challenge"]})
        )

    assert not events("passkey.login")


def test_a_login_challenge_cannot_be_used_to_register(alice, authenticator):
    login_options = _login_options()
    registration_options = _registration_options(alice)

    with _refused(services.EXPIRED):
        _finish_registration(alice, authenticator.register(registration_options, challenge=login_options["challenge"]))


def test_a_challenge_issued_for_one_rp_id_is_refused_for_another(alice, authenticator):
    other_rp = RelyingParty("panel.localhost", "Panel", ("http://panel.localhost",))
    options = json.loads(services.registration_options(user=alice, rp=other_rp, name="Laptop"))
    credential = authenticator.register(options, rp_id="localhost")

    with _refused(services.EXPIRED):
        _finish_registration(alice, credential)


def test_a_login_challenge_is_usable_until_it_expires(local_memory_cache, alice, authenticator):
    _register(authenticator, alice)

    with time_machine.travel(T0, tick=False) as traveller:
        options = _login_options()
        traveller.shift(settings.PANEL_PASSKEY_CEREMONY_SECONDS - 1)
        credential = authenticator.login(options)
        assert services.passkey_authenticate(origin=ANONYMOUS, rp=RP, credential=credential) == alice


def test_an_expired_login_challenge_is_refused(local_memory_cache, alice, authenticator):
    _register(authenticator, alice)

    with time_machine.travel(T0, tick=False) as traveller:
        options = _login_options()
        traveller.shift(settings.PANEL_PASSKEY_CEREMONY_SECONDS + 1)
        credential = authenticator.login(options)
        with _refused(services.EXPIRED):
            services.passkey_authenticate(origin=ANONYMOUS, rp=RP, credential=credential)


def test_an_expired_registration_challenge_is_refused(local_memory_cache, alice, authenticator):
    with time_machine.travel(T0, tick=False) as traveller:
        options = _registration_options(alice)
        traveller.shift(settings.PANEL_PASSKEY_CEREMONY_SECONDS + 1)
        credential = authenticator.register(options)
        with _refused(services.EXPIRED):
            _finish_registration(alice, credential)

    assert not UserHandle.objects.exists()


# Whose passkey


def test_a_registration_started_by_one_user_cannot_be_finished_by_another(alice, bob, authenticator):
    credential = authenticator.register(_registration_options(alice))

    with _refused("This passkey request was started for another account. Start again."):
        _finish_registration(bob, credential)

    assert not UserHandle.objects.exists()


def test_a_handle_changed_while_a_ceremony_ran_is_refused(alice, authenticator):
    """Two registrations started before either finished offer two handles; only the first to finish counts."""
    first_options = _registration_options(alice, name="Laptop")
    second_options = _registration_options(alice, name="Phone")
    _finish_registration(alice, authenticator.register(second_options))

    with _refused(services.EXPIRED):
        _finish_registration(alice, authenticator.register(first_options))

    assert _handle_of(alice) == from_b64url(second_options["user"]["id"])


@pytest.mark.parametrize("claimed", ["bob", "empty", "random"])
def test_a_credential_presented_with_another_handle_is_refused_and_audited(alice, bob, claimed):
    alices_key, bobs_key = SoftAuthenticator(), SoftAuthenticator()
    alices_passkey = _register(alices_key, alice)
    _register(bobs_key, bob)
    handle = {"bob": _handle_of(bob), "empty": b"", "random": os.urandom(64)}[claimed]

    with _refused(services.NOT_ACCEPTED):
        _log_in(alices_key, user_handle=handle)

    [event] = events("passkey.login")
    assert event.outcome == FAILURE
    assert (event.target_type, event.target_id) == ("passkey", str(alices_passkey.pk))
    assert event.details["reason"] == "user handle does not match"


def test_a_deleted_passkey_no_longer_logs_in_and_is_audited_as_unknown(alice, authenticator):
    passkey = _register(authenticator, alice)
    services.passkey_delete(origin=_web(alice), passkey=passkey)

    with _refused(services.NOT_ACCEPTED):
        _log_in(authenticator)

    [event] = events("passkey.login")
    assert event.outcome == FAILURE
    assert event.target_id == ""
    assert event.details["reason"] == "unknown credential"


def test_a_passkey_deleted_during_its_login_is_refused(alice, authenticator, monkeypatch):
    import webauthn  # services imports it at each ceremony, so the patch below is what the login calls

    passkey = _register(authenticator, alice)
    real_verify = webauthn.verify_authentication_response

    def verify_then_delete(**kwargs):
        verified = real_verify(**kwargs)
        Passkey.objects.filter(pk=passkey.pk).delete()  # another request deleted it meanwhile
        return verified

    monkeypatch.setattr(webauthn, "verify_authentication_response", verify_then_delete)

    with pytest.raises(services.PasskeyRefused, match="not accepted"):
        _log_in(authenticator)

    assert not Passkey.objects.exists()
    [event] = events("passkey.login")
    assert event.outcome == FAILURE
    assert event.details["reason"] == "deleted meanwhile"


def test_an_inactive_user_cannot_log_in_with_a_passkey(alice, authenticator):
    passkey = _register(authenticator, alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    with _refused("This account is disabled."):
        _log_in(authenticator)

    passkey.refresh_from_db()
    assert (passkey.sign_count, passkey.last_used_at) == (0, None)
    [event] = events("passkey.login")
    assert event.outcome == FAILURE
    assert event.details["reason"] == "account may not log in"


# Counter


@pytest.mark.parametrize("received", [0, 3, 5], ids=["zero", "lower", "equal"])
def test_a_counter_that_did_not_increase_is_refused_as_a_suspected_clone(alice, authenticator, received):
    passkey = _register(authenticator, alice)
    with time_machine.travel(T0, tick=False):
        _log_in(authenticator, sign_count=5)

    with _refused(services.CLONE_SUSPECTED):
        _log_in(authenticator, sign_count=received)

    passkey.refresh_from_db()
    assert (passkey.sign_count, passkey.last_used_at) == (5, T0)
    [event] = events("passkey.clone_suspected")
    assert event.outcome == FAILURE
    assert (event.target_type, event.target_id) == ("passkey", str(passkey.pk))
    assert event.details == {
        "reason": "sign count did not increase",
        "stored_count": 5,
        "received_count": received,
        "via": "web",
    }
    assert [event.outcome for event in events("passkey.login")] == [SUCCESS]


# Garbage


def _registration_response(user, authenticator):
    """A genuine registration answer to a live challenge, to be bent."""
    return authenticator.register(_registration_options(user, name="Bent"))


def _login_response(authenticator):
    return authenticator.login(_login_options())


def _set(path, value):
    def bend(credential):
        target = credential
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value(target[path[-1]]) if callable(value) else value
        return credential

    return bend


def _drop(path):
    def bend(credential):
        target = credential
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        return credential

    return bend


def _rebuild_attestation(**fields):
    def rewrite(attestation_b64):
        attestation = cbor2.loads(from_b64url(attestation_b64))
        attestation.update({key: value(attestation) if callable(value) else value for key, value in fields.items()})
        return b64url(cbor2.dumps(attestation))

    return rewrite


def _truncate(length):
    return lambda text: b64url(from_b64url(text)[:length])


NOT_A_CREDENTIAL = [None, 42, 1.5, True, [], ["id"], "", "not json", "[1, 2]", b"bytes", {}, {"id": "x"}]

REGISTRATION_BENDS = {
    "no response": _drop(["response"]),
    "response is a list": _set(["response"], []),
    "no clientDataJSON": _drop(["response", "clientDataJSON"]),
    "no attestationObject": _drop(["response", "attestationObject"]),
    "no rawId": _drop(["rawId"]),
    "id is a number": _set(["id"], 7),
    "rawId differs from id": _set(["rawId"], b64url(b"another id")),
    "rawId bad base64": _set(["rawId"], "a"),
    "rawId not ascii": _set(["rawId"], "ü"),
    "type not public-key": _set(["type"], "secret-key"),
    "attachment unknown": _set(["authenticatorAttachment"], "pocket"),
    "clientDataJSON bad base64": _set(["response", "clientDataJSON"], "a"),
    "clientDataJSON not json": _set(["response", "clientDataJSON"], b64url(b"\xff\xfe not json")),
    "clientDataJSON a list": _set(["response", "clientDataJSON"], b64url(b"[]")),
    "clientDataJSON challenge a number": _set(
        ["response", "clientDataJSON"], b64url(b'{"type": 1, "challenge": 2, "origin": 3}')
    ),
    "attestationObject bad base64": _set(["response", "attestationObject"], "a"),
    "attestationObject truncated CBOR": _set(["response", "attestationObject"], _truncate(40)),
    "attestationObject random bytes": _set(["response", "attestationObject"], b64url(os.urandom(64))),
    "attestationObject not a map": _set(["response", "attestationObject"], b64url(cbor2.dumps([1, 2]))),
    "authData truncated": _set(
        ["response", "attestationObject"], _rebuild_attestation(authData=lambda att: att["authData"][:50])
    ),
    "authData without credential": _set(
        ["response", "attestationObject"], _rebuild_attestation(authData=lambda att: att["authData"][:37])
    ),
    "authData trailing bytes": _set(
        ["response", "attestationObject"], _rebuild_attestation(authData=lambda att: att["authData"] + b"\x00")
    ),
    "attestation format unknown": _set(["response", "attestationObject"], _rebuild_attestation(fmt="made-up")),
    "attestation format a number": _set(["response", "attestationObject"], _rebuild_attestation(fmt=7)),
    "attestation statement forged": _set(
        ["response", "attestationObject"], _rebuild_attestation(fmt="packed", attStmt={"alg": -7, "sig": b"x"})
    ),
}

LOGIN_BENDS = {
    "no response": _drop(["response"]),
    "no signature": _drop(["response", "signature"]),
    "no authenticatorData": _drop(["response", "authenticatorData"]),
    "rawId differs from id": _set(["rawId"], b64url(b"another id")),
    "rawId bad base64": _set(["rawId"], "a"),
    "type not public-key": _set(["type"], "secret-key"),
    "userHandle a number": _set(["response", "userHandle"], 5),
    "userHandle bad base64": _set(["response", "userHandle"], "a"),
    "clientDataJSON bad base64": _set(["response", "clientDataJSON"], "a"),
    "clientDataJSON not json": _set(["response", "clientDataJSON"], b64url(b"{")),
    "authenticatorData bad base64": _set(["response", "authenticatorData"], "a"),
    "authenticatorData truncated": _set(["response", "authenticatorData"], _truncate(20)),
    "authenticatorData trailing bytes": _set(
        ["response", "authenticatorData"], lambda d: b64url(from_b64url(d) + b"\0")
    ),
    "signature random bytes": _set(["response", "signature"], b64url(os.urandom(72))),
    "signature empty": _set(["response", "signature"], ""),
    "signature bad base64": _set(["response", "signature"], "a"),
}


@pytest.mark.parametrize("credential", NOT_A_CREDENTIAL, ids=repr)
def test_registration_refuses_what_is_not_a_credential(alice, credential):
    _registration_options(alice)

    with _refused(services.UNREADABLE):
        _finish_registration(alice, credential)


@pytest.mark.parametrize("credential", NOT_A_CREDENTIAL, ids=repr)
def test_login_refuses_what_is_not_a_credential(alice, authenticator, credential):
    _register(authenticator, alice)

    with _refused(services.UNREADABLE):
        services.passkey_authenticate(origin=ANONYMOUS, rp=RP, credential=credential)


@pytest.mark.parametrize("bend", REGISTRATION_BENDS.values(), ids=REGISTRATION_BENDS.keys())
def test_registration_refuses_a_bent_response(alice, authenticator, bend):
    credential = bend(_registration_response(alice, authenticator))

    with _refused():
        _finish_registration(alice, credential)

    assert not UserHandle.objects.exists()


@pytest.mark.parametrize("bend", LOGIN_BENDS.values(), ids=LOGIN_BENDS.keys())
def test_login_refuses_a_bent_response(alice, authenticator, bend):
    passkey = _register(authenticator, alice)

    with _refused():
        services.passkey_authenticate(origin=ANONYMOUS, rp=RP, credential=bend(_login_response(authenticator)))

    passkey.refresh_from_db()
    assert (passkey.sign_count, passkey.last_used_at) == (0, None)
    assert all(event.outcome == FAILURE for event in events("passkey.login"))


def test_a_random_signature_is_refused_and_audited(alice, authenticator):
    passkey = _register(authenticator, alice)
    credential = _set(["response", "signature"], b64url(os.urandom(72)))(_login_response(authenticator))

    with _refused(services.NOT_ACCEPTED):
        services.passkey_authenticate(origin=ANONYMOUS, rp=RP, credential=credential)

    [event] = events("passkey.login")
    assert (event.outcome, event.target_id) == (FAILURE, str(passkey.pk))
    assert "signature" in event.details["reason"]


def _deeply_nested_client_data(credential):
    credential["response"]["clientDataJSON"] = b64url(b"[" * 5000)
    return credential


def test_a_deeply_nested_client_data_json_is_refused_at_registration(alice, authenticator):
    credential = _deeply_nested_client_data(_registration_response(alice, authenticator))

    with _refused(services.UNREADABLE):
        _finish_registration(alice, credential)


def test_a_deeply_nested_client_data_json_is_refused_at_login(alice, authenticator):
    _register(authenticator, alice)
    credential = _deeply_nested_client_data(_login_response(authenticator))

    with _refused(services.UNREADABLE):
        services.passkey_authenticate(origin=ANONYMOUS, rp=RP, credential=credential)


@pytest.mark.parametrize("length", [CREDENTIAL_ID_MAX_BYTES + 1, 4000])
def test_a_credential_id_longer_than_1023_bytes_is_refused(alice, authenticator, length):
    with _credential_ids(os.urandom(length)):
        credential = _registration_response(alice, authenticator)

    with _refused():
        _finish_registration(alice, credential)


def test_a_credential_id_of_1023_bytes_is_accepted(alice, authenticator):
    credential_id = os.urandom(CREDENTIAL_ID_MAX_BYTES)
    with _credential_ids(credential_id):
        passkey = _register(authenticator, alice)

    assert bytes(passkey.credential_id) == credential_id
    assert _log_in(authenticator) == alice


# A small fuzz of credential shapes, bent from a genuine answer to a live challenge

DELETE = object()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
field_values = st.one_of(
    json_values,
    st.binary(max_size=80).map(b64url),
    st.text(alphabet="abcXYZ019-_=+/!.", max_size=30),
    st.just(DELETE),
)
CREDENTIAL_KEYS = ["id", "rawId", "type", "authenticatorAttachment", "clientExtensionResults", "response"]
RESPONSE_KEYS = ["clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle", "transports"]
changes = st.lists(
    st.one_of(
        st.tuples(st.just("credential"), st.sampled_from(CREDENTIAL_KEYS), field_values),
        st.tuples(st.just("response"), st.sampled_from(RESPONSE_KEYS), field_values),
    ),
    min_size=1,
    max_size=4,
)
# Every example runs in the test's one transaction, with the same fixtures.
FUZZ = hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _apply(credential, changes):
    for where, key, value in changes:
        target = credential if where == "credential" else credential.get("response")
        if not isinstance(target, dict):
            continue
        if value is DELETE:
            target.pop(key, None)
        else:
            target[key] = value
    return credential


@FUZZ
@given(changes=changes)
def test_fuzzed_registration_responses_are_refused_or_accepted_never_crash(alice, authenticator, changes):
    before = _stored_rows()
    options = _registration_options(alice, name=f"Fuzz {len(before[0])}")
    credential = _apply(authenticator.register(options), changes)

    try:
        _finish_registration(alice, credential)
    except services.PasskeyRefused:
        assert _stored_rows() == before
    else:
        assert Passkey.objects.count() == len(before[0]) + 1


@FUZZ
@given(changes=changes)
def test_fuzzed_login_responses_are_refused_or_accepted_never_crash(alice, authenticator, changes):
    if not authenticator.credentials:
        _register(authenticator, alice)
    before = _stored_rows()
    credential = _apply(authenticator.login(_login_options()), changes)

    try:
        user = services.passkey_authenticate(origin=ANONYMOUS, rp=RP, credential=credential)
    except services.PasskeyRefused:
        assert _stored_rows() == before
    else:
        assert user == alice


# Names


@pytest.mark.parametrize(
    "name",
    ["", "   ", None, "x" * (NAME_MAX_LENGTH + 1), "Lap\x00top", "Lap\ntop", "Phone\x07", "Key\u200b", "\x1b[31mKey"],
    ids=["empty", "whitespace", "none", "65 characters", "NUL", "newline", "bell", "zero-width space", "escape"],
)
def test_a_bad_name_is_refused_before_any_challenge(alice, issued, name):
    with pytest.raises(ValidationError) as error:
        services.registration_options(user=alice, rp=RP, name=name)

    assert list(error.value.message_dict) == ["name"]
    assert issued == []
    assert not Passkey.objects.exists()
    assert not UserHandle.objects.exists()


def test_a_name_is_trimmed_and_may_be_64_characters(alice, authenticator):
    assert _register(authenticator, alice, name="  Laptop \t").name == "Laptop"
    assert _register(authenticator, alice, name="y" * NAME_MAX_LENGTH).name == "y" * NAME_MAX_LENGTH


@pytest.mark.parametrize("duplicate", ["Laptop", "laptop", "LAPTOP", "  lapTOP  "])
def test_a_name_the_user_already_has_is_refused_ignoring_case(alice, authenticator, issued, duplicate):
    _register(authenticator, alice, name="Laptop")
    assert [ceremony for ceremony, _ in issued] == [challenges.REGISTRATION]  # the spy sees every challenge
    issued.clear()

    with pytest.raises(ValidationError) as error:
        services.registration_options(user=alice, rp=RP, name=duplicate)

    assert list(error.value.message_dict) == ["name"]
    assert issued == []
    assert Passkey.objects.count() == 1


def test_another_user_may_use_the_same_name(alice, bob, authenticator):
    _register(authenticator, alice, name="Laptop")

    passkey = _register(SoftAuthenticator(), bob, name="Laptop")

    assert (passkey.user, passkey.name) == (bob, "Laptop")


def test_a_name_taken_while_the_ceremony_ran_is_refused_at_the_finish(alice, authenticator):
    first = authenticator.register(_registration_options(alice, name="Laptop"))
    second = authenticator.register(_registration_options(alice, name="laptop"))
    _finish_registration(alice, first)

    before = _stored_rows()
    with pytest.raises(ValidationError) as error:
        _finish_registration(alice, second)

    assert list(error.value.message_dict) == ["name"]
    assert _stored_rows() == before


# The same credential twice


@pytest.mark.parametrize("second_owner", ["same user", "another user"])
def test_a_credential_id_registered_twice_is_refused(alice, bob, second_owner):
    """Both ceremonies started before either finished, each answered with the same credential ID."""
    _register(SoftAuthenticator(), alice, name="Tablet")  # alice's handle is settled
    owner = alice if second_owner == "same user" else bob
    credential_id = os.urandom(32)
    with _credential_ids(credential_id):
        first = SoftAuthenticator().register(_registration_options(alice, name="Laptop"))
        second = SoftAuthenticator().register(_registration_options(owner, name="Phone"))

    registered = _finish_registration(alice, first)
    with _refused("This passkey is already registered."):
        _finish_registration(owner, second)

    assert Passkey.objects.get(credential_id=credential_id) == registered


RACE_LOST = "This passkey or its name was registered meanwhile. Reload the page and check."


def test_a_credential_id_registered_by_a_racing_request_is_refused(alice, bob, monkeypatch):
    """The other request committed the same credential ID after this one's exists() check looked."""
    credential_id = os.urandom(32)
    with _credential_ids(credential_id):
        alices = SoftAuthenticator().register(_registration_options(alice, name="Laptop"))
        bobs = SoftAuthenticator().register(_registration_options(bob, name="Laptop"))
    registered = _finish_registration(alice, alices)
    real_filter = Passkey.objects.filter

    def filter_before_the_other_commit(*args, **kwargs):
        queryset = real_filter(*args, **kwargs)
        return queryset.none() if set(kwargs) == {"credential_id"} else queryset

    monkeypatch.setattr(Passkey.objects, "filter", filter_before_the_other_commit)

    with _refused(RACE_LOST):
        _finish_registration(bob, bobs)

    monkeypatch.undo()
    assert Passkey.objects.get(credential_id=credential_id) == registered
    assert not UserHandle.objects.filter(user=bob).exists()
    assert [event.outcome for event in events("passkey.register")] == [SUCCESS]


@pytest.mark.parametrize(
    "second_name",
    [
        "Laptop",
        "laptop",
    ],
)
def test_a_name_registered_by_a_racing_request_is_refused(alice, authenticator, monkeypatch, second_name):
    """The other request committed the same name after this one's name check looked."""
    _register(SoftAuthenticator(), alice, name="Tablet")  # alice's handle is settled
    first = authenticator.register(_registration_options(alice, name="Laptop"))
    second = authenticator.register(_registration_options(alice, name=second_name))
    _finish_registration(alice, first)
    monkeypatch.setattr(services, "validate_passkey_name_free", lambda name, *, user: None)

    with _refused(RACE_LOST):
        _finish_registration(alice, second)

    assert sorted(Passkey.objects.values_list("name", flat=True)) == ["Laptop", "Tablet"]


# Deleting


def test_passkey_delete_removes_it_and_writes_an_audit_event(alice, admin_user, authenticator):
    passkey = _register(authenticator, alice, name="Laptop")
    kept = _register(SoftAuthenticator(), alice, name="Phone")
    deleted_pk = passkey.pk

    services.passkey_delete(origin=_web(admin_user), passkey=passkey)

    assert list(Passkey.objects.all()) == [kept]
    assert UserHandle.objects.filter(user=alice).exists()  # kept while the user exists
    [event] = events("passkey.delete")
    assert event.outcome == SUCCESS
    assert event.actor == admin_user
    assert (event.target_type, event.target_id, event.target_name) == ("passkey", str(deleted_pk), "passkey Laptop")
    assert event.details == {"owner": "alice", "name": "Laptop", "synced": False, "via": "web"}


def test_deleting_a_user_deletes_their_passkeys_and_handle(alice, bob):
    _register(SoftAuthenticator(), alice, name="Laptop")
    _register(SoftAuthenticator(), alice, name="Phone")
    bobs = _register(SoftAuthenticator(), bob, name="Laptop")
    alice_pk = alice.pk

    alice.delete()

    assert not Passkey.objects.filter(user_id=alice_pk).exists()
    assert not UserHandle.objects.filter(user_id=alice_pk).exists()
    assert list(Passkey.objects.all()) == [bobs]
    assert UserHandle.objects.filter(user=bob).exists()
