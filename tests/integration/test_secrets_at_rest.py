"""Secrets at rest: recovery codes under a salted password hash, emailed codes only as an HMAC, var/ owner-only.

A copy of the database (a backup, a dump) must not hand out a working second factor: recovery codes
are stored as Argon2id hashes with their own salt and checked with one hash per attempt; the code an
email carries is never in the database; the SQLite file and the directory it lives in are readable
by the panel's user only.
"""

import datetime
import importlib
import io
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth.hashers import check_password, identify_hasher
from django.core import mail, serializers
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils.module_loading import import_string

from core import conf
from mfa import selectors, services
from mfa.models import EmailCodeDevice, RecoveryCode, RecoveryCodeDevice, legacy_recovery_code_digest
from tests.factories import RecoveryCodeDeviceFactory, UserFactory
from tests.hashers import FastArgon2PasswordHasher
from tests.helpers import SETUP, turn_on_app
from tests.integration.conftest import is_logged_in, mailed_code, post_login, wrong_code

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime.datetime(2025, 3, 1, 9, 0, 5, tzinfo=datetime.UTC)
# Four groups of four from the alphabet without look-alikes (no 0/o, 1/l/i).
SHOWN_CODE = re.compile(r"^[a-hjkmnp-z2-9]{4}(-[a-hjkmnp-z2-9]{4}){3}$")
# A code as people stored it before slots existed (same alphabet, same shape).
LEGACY_CODE = "abcd-efgh-jkmn-pqrs"


class CountingArgon2Hasher(FastArgon2PasswordHasher):
    """The test run's Argon2id hasher, doing all its work, counting each hash it computes."""

    runs = 0

    def encode(self, password, salt):
        CountingArgon2Hasher.runs += 1
        return super().encode(password, salt)

    def verify(self, password, encoded):
        CountingArgon2Hasher.runs += 1
        return super().verify(password, encoded)


@pytest.fixture
def hashes(settings):
    """``hashes(action)``: how many password hashes running ``action()`` computed."""
    others = [path for path in settings.PASSWORD_HASHERS if import_string(path).algorithm != "argon2"]
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingArgon2Hasher", *others]

    def count(action):
        CountingArgon2Hasher.runs = 0
        action()
        return CountingArgon2Hasher.runs

    return count


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def dave(db):
    """dave, with an authenticator app and ten recovery codes (``dave.recovery_codes``)."""
    user = UserFactory(username="dave", email="dave@example.com")
    _totp, user.recovery_codes = turn_on_app(user)
    return user


@pytest.fixture
def erin(db, clock):
    """erin, with email codes (turned on at T0; the cooldown of that email has passed)."""
    user = UserFactory(username="erin", email="erin@example.com")
    device = services.email_begin(origin=SETUP, user=user)
    services.email_confirm(origin=SETUP, user=user, device=device, code=mailed_code())
    mail.outbox.clear()
    clock.shift(61)
    return user


def _use_recovery(user, code):
    services.verify_login_code(origin=SETUP, user=user, method="recovery", code=code)


def _refused(action):
    try:
        action()
    except ValidationError:
        return True
    return False


def _stored_text(*models):
    """Every stored row of ``models`` as JSON, and the whole database as dumpdata writes it."""
    rows = serializers.serialize("json", [row for model in models for row in model.objects.all()])
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    return rows + dump.getvalue()


def _forms_of(code):
    """The ways a code could sit in a column: as shown, without dashes, in upper case."""
    plain = code.replace("-", "")
    return {code, plain, code.upper(), plain.upper()}


# recovery codes


def test_recovery_codes_are_shown_in_groups_without_look_alike_characters(dave):
    assert len(set(dave.recovery_codes)) == 10
    assert all(SHOWN_CODE.match(code) for code in dave.recovery_codes)


def test_recovery_codes_are_stored_as_argon2id_password_hashes(dave):
    stored = RecoveryCode.objects.filter(device__user=dave)

    assert stored.count() == 10
    assert {identify_hasher(row.code_hash).algorithm for row in stored} == {"argon2"}
    assert all(row.code_hash.startswith("argon2$argon2id$") for row in stored)


def test_the_same_recovery_code_of_two_users_is_stored_differently(db):
    code = "k7m2-abcd-efgh-jkmn"
    first = RecoveryCodeDeviceFactory(plain_codes=[code]).codes.get()
    second = RecoveryCodeDeviceFactory(plain_codes=[code]).codes.get()

    assert first.code_hash != second.code_hash
    assert check_password("k7m2abcdefghjkmn", first.code_hash) and check_password("k7m2abcdefghjkmn", second.code_hash)


def test_no_stored_value_holds_a_recovery_code(dave):
    stored = _stored_text(RecoveryCodeDevice, RecoveryCode)

    # Nor the secret part after a code's first character (its slot, which is stored).
    secrets = {code.replace("-", "")[1:] for code in dave.recovery_codes}
    assert not [form for code in dave.recovery_codes for form in _forms_of(code) if form in stored]
    assert not [secret for secret in secrets if secret in stored or secret.upper() in stored]


def test_the_ten_codes_of_a_set_start_with_ten_different_characters(dave):
    assert len({code[0] for code in dave.recovery_codes}) == 10
    assert set(RecoveryCode.objects.filter(device__user=dave).values_list("slot", flat=True)) == {
        code[0] for code in dave.recovery_codes
    }


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param(lambda codes, unused: codes[0], id="right-code"),
        pytest.param(lambda codes, unused: codes[0].upper().replace("-", " "), id="right-code-as-typed"),
        pytest.param(lambda codes, unused: codes[0][:-1] + ("a" if codes[0][-1] != "a" else "b"), id="wrong-secret"),
        pytest.param(lambda codes, unused: unused + codes[0][1:], id="slot-not-in-the-set"),
        pytest.param(lambda codes, unused: "not-a-code", id="garbage"),
        pytest.param(lambda codes, unused: "", id="empty"),
    ],
)
def test_each_recovery_code_attempt_computes_exactly_one_hash(dave, hashes, typed):
    unused = next(char for char in "abcdefghjkmnpqrstuvwxyz23456789" if all(c[0] != char for c in dave.recovery_codes))
    device = selectors.login_device(dave, "recovery")

    assert hashes(lambda: device.verify_token(typed(dave.recovery_codes, unused))) == 1


def test_a_recovery_code_works_once(dave):
    _use_recovery(dave, dave.recovery_codes[4])

    assert _refused(lambda: _use_recovery(dave, dave.recovery_codes[4]))
    assert selectors.status(dave)["recovery_codes_left"] == 9


def test_a_new_set_replaces_the_old_codes_and_is_stored_hashed(dave):
    new = services.recovery_codes_regenerate(origin=SETUP, user=dave)

    _use_recovery(dave, new[0])
    assert selectors.status(dave)["recovery_codes_left"] == 9
    assert _refused(lambda: _use_recovery(dave, dave.recovery_codes[0]))
    assert all(row.code_hash.startswith("argon2$") for row in RecoveryCode.objects.filter(device__user=dave))


# recovery codes stored before slots: an unsalted SHA-256 that cannot be rehashed without the code


@pytest.fixture
def legacy(dave):
    """dave's codes as an older panel stored them: one, as its SHA-256, with no slot."""
    device = RecoveryCodeDevice.objects.get(user=dave)
    device.codes.all().delete()
    RecoveryCode.objects.create(device=device, slot="", code_hash=legacy_recovery_code_digest(LEGACY_CODE))
    return dave


def test_a_legacy_recovery_code_still_works_once(legacy):
    _use_recovery(legacy, LEGACY_CODE.upper())

    assert _refused(lambda: _use_recovery(legacy, LEGACY_CODE))
    assert selectors.status(legacy)["recovery_codes_left"] == 0


def test_a_new_set_retires_the_legacy_codes(legacy):
    services.recovery_codes_regenerate(origin=SETUP, user=legacy)

    assert _refused(lambda: _use_recovery(legacy, LEGACY_CODE))
    assert not RecoveryCode.objects.filter(slot="").exists()


# emailed codes


def _send_login_code(user):
    services.email_code_send(origin=SETUP, user=user)
    return mailed_code()


def test_the_emailed_code_is_never_in_the_database(erin):
    code = _send_login_code(erin)
    device = EmailCodeDevice.objects.get(user=erin)

    assert device.token and device.token != code
    assert code not in _stored_text(EmailCodeDevice)


def test_one_code_mailed_to_two_users_is_stored_differently(erin):
    other = UserFactory(username="frank", email="frank@example.com")
    device, other_device = EmailCodeDevice.objects.get(user=erin), EmailCodeDevice.objects.create(user=other)

    assert device.code_digest("123456") != other_device.code_digest("123456")


def test_the_emailed_code_logs_in_once_within_five_minutes(client, erin, clock):
    post_login(client, "erin")
    client.post("/login/verify/", {"action": "send"})
    code = mailed_code()
    clock.shift(290)

    response = client.post("/login/verify/", {"action": "verify", "method": "email", "code": code})

    assert response.status_code == 302
    assert is_logged_in(client, erin)
    assert _refused(lambda: services.verify_login_code(origin=SETUP, user=erin, method="email", code=code))


def test_the_emailed_code_expires_after_five_minutes(erin, clock):
    code = _send_login_code(erin)
    clock.shift(301)

    assert _refused(lambda: services.verify_login_code(origin=SETUP, user=erin, method="email", code=code))


def test_a_wrong_emailed_code_is_refused_and_counts_toward_the_throttle(erin):
    code = _send_login_code(erin)

    assert _refused(lambda: services.verify_login_code(origin=SETUP, user=erin, method="email", code=wrong_code(code)))
    assert EmailCodeDevice.objects.get(user=erin).throttling_failure_count == 1


def test_the_upgrade_clears_emailed_codes_left_in_plain_text(erin):
    EmailCodeDevice.objects.filter(user=erin).update(token="123456")

    importlib.import_module("mfa.migrations.0004_email_codes_hashed").clear_plain_codes(apps, None)

    assert EmailCodeDevice.objects.get(user=erin).token is None


# var/ and the SQLite database


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def _manage(var_dir, *args):
    """Run manage.py from this checkout on SQLite in ``var_dir``, with a umask that hides nothing."""
    unset = {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PANEL_ENCRYPTION_KEYS"}
    environ = {name: value for name, value in os.environ.items() if name not in unset}
    environ["PANEL_VAR_DIR"] = str(var_dir)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        preexec_fn=lambda: os.umask(0),
    )


@pytest.fixture(scope="module")
def fresh_var(tmp_path_factory):
    """A var/ that ``manage.py migrate`` created from nothing."""
    var_dir = tmp_path_factory.mktemp("install") / "var"
    _manage(var_dir, "migrate", "--no-input")
    return var_dir


def test_a_fresh_var_dir_is_for_its_owner_only(fresh_var):
    assert _mode(fresh_var) == 0o700


def test_a_fresh_sqlite_database_is_for_its_owner_only(fresh_var):
    assert (fresh_var / "panel.sqlite3").stat().st_size > 0
    assert _mode(fresh_var / "panel.sqlite3") == 0o600


def test_the_generated_secret_key_stays_for_its_owner_only(fresh_var):
    assert _mode(fresh_var / "secret_key") == 0o600


def test_the_sqlite_wal_and_shared_memory_files_are_for_their_owner_only(fresh_var):
    # While a connection has them open (the last one to close removes them).
    script = (
        "import os, stat; from django.db import connection; "
        "connection.cursor().execute('PRAGMA user_version = 1'); "
        "name = connection.settings_dict['NAME']; "
        "print(*(oct(stat.S_IMODE(os.stat(f'{name}{suffix}').st_mode)) for suffix in ('-wal', '-shm')))"
    )

    result = _manage(fresh_var, "shell", "--no-imports", "-c", script)

    assert result.stdout.split() == ["0o600", "0o600"]


@pytest.fixture
def embedded(monkeypatch):
    """conf.database() as with nothing set: SQLite in var/, even when this run uses PostgreSQL."""
    monkeypatch.delenv("DATABASE_URL", raising=False)


def test_an_existing_var_dir_keeps_its_permissions(tmp_path, embedded):
    var_dir = tmp_path / "var"
    var_dir.mkdir()
    var_dir.chmod(0o750)

    conf.database(var_dir)

    assert _mode(var_dir) == 0o750
    assert _mode(var_dir / "panel.sqlite3") == 0o600


def test_an_existing_database_file_keeps_its_permissions(tmp_path, embedded):
    (tmp_path / "panel.sqlite3").touch()
    (tmp_path / "panel.sqlite3").chmod(0o640)

    conf.database(tmp_path)

    assert _mode(tmp_path / "panel.sqlite3") == 0o640
