"""No secret in any log line: a pytest plugin (registered by tests/conftest.py) for the whole test run.

Every record logged in the test process is kept as the panel writes it (core.logs' text line, with its
request context). Every secret the tests make is remembered where it is made, whoever makes it: passwords
and recovery codes where they are hashed (``make_password``), token secrets and TOTP keys where they are
encrypted (``core.crypto.encrypt``), password reset tokens, emailed login codes and session keys. When the
run ends, it fails (exit status 1) if any kept line holds a remembered secret, naming the line.

A secret "appears" when it is in a line with no letter or digit right before it, and, for the short ones
(an emailed code's six digits), none right after it either, so a code never matches inside a request ID.
"""

import base64
import binascii
import functools
import logging
import re
import sys

import pytest

SHORTEST = 6  # an emailed code; shorter strings would match by chance
# Lower-case words and identifiers (``users_deleted``, typed by a fuzzer as a password) are in source code
# and tracebacks; no secret the panel makes, nor a password its validators accept, is one.
_WORDS = re.compile(r"[a-z_\- ]+")
PREFIX = 8  # secrets this long or longer are looked up by their first characters


class LeakWatch:
    """The log lines kept and the secrets remembered; ``leaks()`` pairs each secret found with its line."""

    def __init__(self):
        self.lines = []
        self.secrets = set()

    def remember(self, secret):
        if isinstance(secret, str) and len(secret) >= SHORTEST and not _WORDS.fullmatch(secret):
            self.secrets.add(secret)

    def leaks(self):
        text = "\n".join(self.lines)
        # Where a secret could begin: after anything but a letter or a digit.
        starts = {text[m.start() : m.start() + PREFIX] for m in re.finditer(r"(?<![A-Za-z0-9])\S", text)}
        words = set(re.findall(rf"(?<![A-Za-z0-9])[A-Za-z0-9]{{{SHORTEST},{PREFIX - 1}}}(?![A-Za-z0-9])", text))
        found = [s for s in self.secrets if (s[:PREFIX] in starts if len(s) >= PREFIX else s in words)]
        return [(secret, line) for secret in found for line in self.lines if _appears(secret, line)]


def _appears(secret, line):
    after = "" if len(secret) >= PREFIX else "(?![A-Za-z0-9])"
    return re.search(rf"(?<![A-Za-z0-9]){re.escape(secret)}{after}", line) is not None


class _Keeper(logging.Handler):
    def __init__(self, watch):
        from core.logs import ContextFilter, TextFormatter

        super().__init__()
        self.watch = watch
        self.setFormatter(TextFormatter())
        self.addFilter(ContextFilter())

    def emit(self, record):
        self.watch.lines.append(self.format(record))


def _remembering(watch, function, *, argument=None):
    """``function``, remembering its first argument (``argument=0``) or else what it returns."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        result = function(*args, **kwargs)
        made = args[argument] if argument is not None and len(args) > argument else result
        watch.remember(made)
        watch.remember(_as_base32(made))  # a TOTP key is stored as hex and shown as base32
        return result

    return wrapper


def _as_base32(value):
    try:
        return base64.b32encode(bytes.fromhex(value)).decode() if isinstance(value, str) else None
    except (ValueError, binascii.Error):
        return None


def _replace_everywhere(original, replacement):
    """Put ``replacement`` wherever a loaded module holds ``original`` (``from x import f`` copies included)."""
    for module in list(sys.modules.values()):
        for name, value in list(getattr(module, "__dict__", {}).items()):
            if value is original:
                setattr(module, name, replacement)


def _watch_where_secrets_are_made(watch):
    from django.contrib.auth import hashers
    from django.contrib.auth.tokens import PasswordResetTokenGenerator
    from django.contrib.sessions.backends.base import SessionBase

    from core import crypto
    from mfa.models import EmailCodeDevice

    for original, argument in ((hashers.make_password, 0), (crypto.encrypt, 0)):
        _replace_everywhere(original, _remembering(watch, original, argument=argument))
    for cls, method in (
        (PasswordResetTokenGenerator, "make_token"),
        (EmailCodeDevice, "generate_token"),
        (SessionBase, "_get_new_session_key"),
    ):
        setattr(cls, method, _remembering(watch, getattr(cls, method)))


WATCH = pytest.StashKey[LeakWatch]()
KEEPER = pytest.StashKey[_Keeper]()


def pytest_sessionstart(session):
    watch = session.config.stash[WATCH] = LeakWatch()
    _watch_where_secrets_are_made(watch)
    session.config.stash[KEEPER] = _Keeper(watch)


@pytest.fixture(autouse=True)
def _keep_log_lines(request):
    """Before each test, the keeper is on the root logger again: importing panel.wsgi reruns Django's
    setup, whose logging configuration replaces the root logger's handlers."""
    keeper = request.config.stash[KEEPER]
    if keeper not in logging.getLogger().handlers:
        logging.getLogger().addHandler(keeper)


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    watch = session.config.stash.get(WATCH, None)
    if watch is None:
        return
    leaks = watch.leaks()
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.line("")
        reporter.write_line(f"secret leaks: {len(watch.secrets)} secrets made, {len(watch.lines)} log lines read")
    if not leaks:
        return
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if reporter is not None:
        reporter.section("secrets in the logs", red=True)
        for secret, line in leaks:
            reporter.write_line(f"{secret!r} is in: {line}")
