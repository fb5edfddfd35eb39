"""`backup` and `restore` of the embedded SQLite database, run as the operator runs them: in their own
process, on a database in its own var/ directory (whatever database the test run itself uses)."""

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "panel.sqlite3"


def panel(var_dir, *args, stdin=""):
    """Run ``manage.py <args>`` on the SQLite database in ``var_dir``; returns the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=ROOT,
        env=_sqlite_env(var_dir),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _sqlite_env(var_dir):
    env = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")}
    return {**env, "PANEL_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "panel.settings"}


def query(path, sql):
    with sqlite3.connect(f"{Path(path).as_uri()}?mode=ro", uri=True) as db:
        return db.execute(sql).fetchall()


def usernames(path):
    return {name for (name,) in query(path, "SELECT username FROM accounts_user")}


def actions(path):
    return [action for (action,) in query(path, "SELECT action FROM core_auditevent ORDER BY id")]


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """A var/ directory with a migrated database, made once and copied for each test."""
    var_dir = tmp_path_factory.mktemp("template") / "var"
    result = panel(var_dir, "migrate", "--no-input")
    assert result.returncode == 0, result.stderr
    return var_dir


@pytest.fixture
def var_dir(migrated, tmp_path):
    return Path(shutil.copytree(migrated, tmp_path / "var"))


def test_backup_taken_while_the_panel_writes_holds_every_transaction_committed_before_it(var_dir, tmp_path):
    stop, backup = tmp_path / "stop", tmp_path / "backup.sqlite3"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.sqlite_writer", str(stop)],
        cwd=ROOT,
        env=_sqlite_env(var_dir),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        committed = 0
        while committed < 300:
            committed = int(writer.stdout.readline())
        result = panel(var_dir, "backup", str(backup))
        written_meanwhile = int(writer.stdout.readline())
    finally:
        stop.touch()
        writer.communicate(timeout=60)

    assert result.returncode == 0, result.stderr
    assert written_meanwhile > committed
    assert query(backup, "PRAGMA integrity_check") == [("ok",)]
    events = {int(n) for (n,) in query(backup, "SELECT target_id FROM core_auditevent WHERE action = 'test.write'")}
    sessions = {int(key[6:]) for (key,) in query(backup, "SELECT session_key FROM django_session")}
    assert set(range(1, committed + 1)) <= events  # everything committed before the backup started
    assert events == sessions == set(range(1, max(events) + 1))  # whole transactions, no gaps: one snapshot
    # One file that stands alone, for its owner only; the live database records the backup.
    assert query(backup, "PRAGMA journal_mode") == [("delete",)]
    assert not Path(f"{backup}-wal").exists()
    assert backup.stat().st_mode & 0o777 == 0o600
    assert "database.backup" in actions(var_dir / DATABASE)
    assert "database.backup" not in actions(backup)


def test_backup_replaces_an_older_backup_at_the_same_path_and_is_audited_as_the_operator(var_dir, tmp_path):
    backup = tmp_path / "nightly.sqlite3"
    backup.write_text("last night's backup")

    result = panel(var_dir, "backup", str(backup))

    assert result.returncode == 0, result.stderr
    assert f"Backed up the database to {backup}" in result.stdout
    assert query(backup, "PRAGMA quick_check") == [("ok",)]
    [(actor, name, details)] = query(
        var_dir / DATABASE, "SELECT actor_id, actor_name, details FROM core_auditevent WHERE action = 'database.backup'"
    )
    assert (actor, name) == (None, "operator")
    assert f'"file": "{backup}"' in details
    assert not list(tmp_path.glob(".*partial"))


def test_backup_refuses_to_write_over_the_database_itself(var_dir):
    result = panel(var_dir, "backup", str(var_dir / DATABASE))

    assert result.returncode == 1
    assert "another file than the database itself" in result.stderr


def test_restore_brings_back_the_database_of_the_backup_and_keeps_the_replaced_one(var_dir, tmp_path):
    backup = tmp_path / "backup.sqlite3"
    assert panel(var_dir, "user", "create", "alice", "--email", "alice@example.com", "--random").returncode == 0
    assert panel(var_dir, "backup", str(backup)).returncode == 0
    assert panel(var_dir, "user", "create", "carol", "--email", "carol@example.com", "--random").returncode == 0

    result = panel(var_dir, "restore", str(backup), "--yes")

    assert result.returncode == 0, result.stderr
    live = var_dir / DATABASE
    assert usernames(live) == {"alice"}
    assert query(live, "PRAGMA integrity_check") == [("ok",)]
    # The events of the backup, then the restore, written after it as the operator.
    assert actions(live)[-2:] == ["user.create", "database.restore"]
    [(name, details)] = query(live, "SELECT actor_name, details FROM core_auditevent WHERE action = 'database.restore'")
    assert name == "operator"
    [kept] = var_dir.glob(f"{DATABASE}.before-restore-*")
    assert str(kept) in details and str(kept) in result.stdout
    assert usernames(kept) == {"alice", "carol"}
    # The restored panel works: a command reads and writes it.
    listed = panel(var_dir, "user", "list").stdout.splitlines()[1:]
    assert [line.split()[0] for line in listed] == ["alice"]


@pytest.mark.parametrize("answer", ["no\n", ""])
def test_restore_asks_first_and_anything_but_yes_restores_nothing(var_dir, tmp_path, answer):
    backup = tmp_path / "backup.sqlite3"
    assert panel(var_dir, "backup", str(backup)).returncode == 0
    assert panel(var_dir, "user", "create", "carol", "--email", "carol@example.com", "--random").returncode == 0

    result = panel(var_dir, "restore", str(backup), stdin=answer)

    assert result.returncode == 1
    assert "Stop the panel first" in result.stdout
    assert "Nothing restored." in result.stderr
    assert usernames(var_dir / DATABASE) == {"carol"}


def _not_sqlite(path):
    path.write_text("name,email\nalice,alice@example.com\n")


def _sqlite_but_not_django(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (body TEXT)")


def _django_but_not_panel(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE django_migrations (id INTEGER PRIMARY KEY, app TEXT, name TEXT, applied TEXT)")
        db.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('blog', '0001_initial', '')")


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (_not_sqlite, "is not a Panel database backup (file is not a database)"),
        (_sqlite_but_not_django, "is not a Panel database backup (no such table: django_migrations)"),
        (_django_but_not_panel, "is a Django database, but not Panel's"),
        (lambda path: None, "is not a Panel database backup (unable to open database file)"),
    ],
)
def test_restore_refuses_a_file_that_is_not_a_panel_database(var_dir, tmp_path, make, says):
    candidate = tmp_path / "candidate.sqlite3"
    make(candidate)

    result = panel(var_dir, "restore", str(candidate), "--yes")

    assert result.returncode == 1
    assert f"Nothing restored: {candidate} {says}" in result.stderr
    assert actions(var_dir / DATABASE) == []
    assert not list(var_dir.glob("*.before-restore-*"))


def test_restore_refuses_a_backup_made_by_a_newer_panel(var_dir, tmp_path):
    backup = tmp_path / "backup.sqlite3"
    assert panel(var_dir, "backup", str(backup)).returncode == 0
    with sqlite3.connect(backup) as db:
        db.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('core', '9999_from_the_future', '')")

    result = panel(var_dir, "restore", str(backup), "--yes")

    assert result.returncode == 1
    assert "made by a newer Panel (migrations this code lacks: core.9999_from_the_future)" in result.stderr


def test_restore_of_an_older_backup_says_to_migrate(var_dir, tmp_path):
    backup = tmp_path / "backup.sqlite3"
    assert panel(var_dir, "backup", str(backup)).returncode == 0
    with sqlite3.connect(backup) as db:  # as if the code gained a migration since (its effect aside)
        db.execute("DELETE FROM django_migrations WHERE app = 'sessions' AND name = '0001_initial'")

    result = panel(var_dir, "restore", str(backup), "--yes")

    assert result.returncode == 0, result.stderr
    assert "The backup predates 1 migration of this code: run `panel migrate`" in result.stdout


@pytest.mark.parametrize("command", ["backup", "restore"])
def test_both_refuse_on_postgresql_and_point_to_pg_dump(tmp_path, command):
    env = {**_sqlite_env(tmp_path / "var"), "DATABASE_URL": "postgres://panel@127.0.0.1:9/panel"}
    result = subprocess.run(
        [sys.executable, "-m", "django", command, str(tmp_path / "backup.sqlite3"), "--no-color"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 1
    assert "this panel's database is PostgreSQL. Use pg_dump -Fc" in result.stderr
    assert "pg_restore --clean" in result.stderr


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs the run's database to be PostgreSQL")
def test_backup_refuses_on_the_postgresql_database_of_this_run(tmp_path):
    target = tmp_path / "backup.sqlite3"

    with pytest.raises(CommandError, match="this panel's database is PostgreSQL. Use pg_dump -Fc"):
        call_command("backup", str(target))

    assert not target.exists()
