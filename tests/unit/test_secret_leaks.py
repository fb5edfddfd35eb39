"""The plugin that fails a test run whose logs hold a secret (tests/secret_leaks.py) catches one."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.secret_leaks import LeakWatch

ROOT = Path(__file__).resolve().parents[2]
LEAKY_TEST = """
import logging

from django.contrib.auth.hashers import make_password


def test_makes_a_password():
    make_password("Pa55word-the-test-made")
    logging.getLogger("panel.test").warning("{message}")
"""


def _watch(*lines, secrets=()):
    watch = LeakWatch()
    watch.lines.extend(lines)
    for secret in secrets:
        watch.remember(secret)
    return watch


def test_a_secret_in_a_line_is_a_leak():
    line = "2031-01-01T00:00:00.000Z WARNING x request_id=- user=- ip=- token pnl_12_Zx9-secret_value_43chars"
    assert _watch(line, secrets=["Zx9-secret_value_43chars"]).leaks() == [("Zx9-secret_value_43chars", line)]


def test_no_secret_no_leak():
    assert _watch("GET /login/ 200 1.2ms", secrets=["Zx9-secret_value_43chars"]).leaks() == []


def test_an_emailed_code_counts_only_as_a_whole_number():
    code = "123456"
    assert _watch(f"request_id=ab{code}cd ip=10.1234567.1", secrets=[code]).leaks() == []
    assert _watch(f"your code: {code}.", secrets=[code]).leaks() == [(code, f"your code: {code}.")]


def test_strings_too_short_or_plain_words_are_not_remembered_as_secrets():
    assert _watch("a b c 12345", secrets=["12345", "b", "users_deleted", "plain words"]).secrets == set()


def _run(tmp_path, message):
    (tmp_path / "test_leaky.py").write_text(LEAKY_TEST.format(message=message), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.secret_leaks", "-c", str(ROOT / "pyproject.toml")]
        + ["--rootdir", str(ROOT), "-p", "no:cacheprovider", str(tmp_path / "test_leaky.py")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "PANEL_VAR_DIR": str(tmp_path / "var")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("message", "status"), [("oops: Pa55word-the-test-made", 1), ("a harmless line", 0)], ids=["leak", "clean"]
)
def test_a_run_whose_logs_hold_a_secret_it_made_fails(tmp_path, message, status):
    result = _run(tmp_path, message)
    assert "1 passed" in result.stdout
    assert result.returncode == status, result.stdout
    assert ("secrets in the logs" in result.stdout) is bool(status)
