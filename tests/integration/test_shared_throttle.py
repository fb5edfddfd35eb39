"""The login guard holds across processes: failures counted in one panel process lock the account in another.

Runs only against the shared Redis cache (the PostgreSQL/Redis run); a local-memory cache is one process's own.
"""

import os
import re
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from core import throttle
from core.audit import Origin
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        settings.CACHES["default"]["BACKEND"] != "core.cache.RedisCache",
        reason="needs the shared Redis cache (set REDIS_URL): a local-memory cache is not shared between processes",
    ),
]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ORIGIN = Origin.command("pytest")
# The lock is 15 minutes; on a busy machine a second or two passes before the page says how long is left.
LOCKED = re.compile(r"Too many failed attempts\. Try again in 1[45] min")

# Another panel process: the same settings and environment, recording failures through the guard.
_OTHER_PROCESS = textwrap.dedent(
    """
    import sys

    import django

    django.setup()

    from core import throttle

    username, ip, times = sys.argv[1], sys.argv[2], int(sys.argv[3])
    # The guards themselves: this process has no test database for the lockout's audit event.
    for _ in range(times):
        throttle.IP_GUARD.fail(ip)
        throttle.ACCOUNT_GUARD.fail(throttle.account_key(username))
    print(throttle.wait_seconds(username=username, ip=ip))
    """
)


def _fail_in_another_process(username, times, ip="203.0.113.77"):
    """Record ``times`` failures for ``username`` in a second Python process; returns the wait it saw."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "panel.settings"}
    result = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, username, ip, str(times)],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def username():
    return f"shared-{uuid.uuid4().hex[:12]}"


def test_other_process_locks_the_account_for_this_one(username):
    assert _fail_in_another_process(username, 10) > 0

    assert throttle.wait_seconds(username=username, ip="198.51.100.200") > 0


def test_login_here_is_refused_after_failures_in_another_process(username):
    UserFactory(username=username)
    _fail_in_another_process(username, 10)

    client = Client(REMOTE_ADDR="198.51.100.200")
    response = client.post("/login/", {"username": username, "password": DEFAULT_PASSWORD})

    assert response.status_code == 200
    assert LOCKED.search(response.content.decode())
    assert client.get("/account/").status_code == 302


def test_failures_in_two_processes_add_up(username):
    for _ in range(5):
        throttle.record_failure(origin=ORIGIN, username=username, ip="198.51.100.200")

    _fail_in_another_process(username, 5)

    assert throttle.wait_seconds(username=username, ip="198.51.100.201") >= 899


def test_other_process_sees_failures_counted_here(username):
    for _ in range(9):
        throttle.record_failure(origin=ORIGIN, username=username, ip="198.51.100.200")

    # One more failure over there is the tenth: it locks the account for 15 minutes.
    assert _fail_in_another_process(username, 1) >= 899


def test_address_limit_is_shared_between_processes(username):
    ip = "203.0.113.88"
    for number in range(10):
        throttle.record_failure(origin=ORIGIN, username=f"{username}-{number}", ip=ip)

    # The eleventh to thirteenth failures from that address, with yet another name, over there: the
    # wait they set (4 s) outlasts a busy machine's return from the other process.
    _fail_in_another_process(f"{username}-10", 3, ip=ip)

    assert throttle.wait_seconds(username=f"{username}-fresh", ip=ip) > 0
