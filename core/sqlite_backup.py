"""Backup and restore of the embedded SQLite database, through SQLite's online backup API.

A plain copy of a WAL-mode database file while the panel runs misses whatever sits in its ``-wal``
file (every transaction since the last checkpoint). The backup API copies the database as one
transaction sees it instead: consistent, while other processes go on writing.

On PostgreSQL both refuse: pg_dump and pg_restore do this job there (README, "Backups").
"""

import datetime
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from django.db.migrations.loader import MigrationLoader
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.var_dir import create_owner_only

POSTGRESQL_WAY = gettext_lazy(
    "backup and restore copy the embedded SQLite database; this panel's database is %(vendor)s. "
    "Use pg_dump -Fc to back it up and pg_restore --clean to restore it (README.md, Backups)."
)


class BackupError(Exception):
    """A backup or restore that was refused or failed; the message says why, for the operator."""


@dataclass(frozen=True)
class BackupFile:
    """A backup checked to be a Panel database that this code can run on."""

    path: Path
    # The code's migrations that the backup has not applied: `migrate` brings it up to date.
    missing_migrations: int


def database_path(connection) -> Path:
    """The file of the live SQLite database behind ``connection`` (refused on any other database)."""
    if connection.vendor != "sqlite":
        raise BackupError(POSTGRESQL_WAY % {"vendor": connection.display_name})
    return Path(connection.settings_dict["NAME"])


def back_up(connection, path: Path) -> int:
    """Copy the live database behind the Django ``connection`` to ``path`` (0600); returns its size in bytes.

    The copy is taken in one step, so it is the database as one read transaction saw it; writers
    in other processes are not held up (WAL). It is written next to ``path`` first and renamed
    only once whole and checked, so ``path`` never holds half a backup.
    """
    live = database_path(connection)
    if path.exists() and path.resolve() == live.resolve():
        raise BackupError(_("The backup must go to another file than the database itself."))
    connection.ensure_connection()
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    create_owner_only(partial)
    try:
        copy = sqlite3.connect(partial)
        try:
            connection.connection.backup(copy)  # pages=-1: the whole database in a single step
            # A backup stands alone as one file: no -wal beside it.
            copy.execute("PRAGMA journal_mode=DELETE")
            check = copy.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            copy.close()
        if check != "ok":
            raise BackupError(
                _("The copy failed SQLite's check (%(check)s); nothing was written to %(file)s.")
                % {"check": check, "file": path}
            )
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path.stat().st_size


def check_backup(path: Path) -> BackupFile:
    """``path`` opened read-only: a sound SQLite file, a Panel database, no migration newer than the code's."""
    try:
        with _open_read_only(path) as backup:
            check = backup.execute("PRAGMA quick_check").fetchone()[0]
            applied = set(backup.execute("SELECT app, name FROM django_migrations"))
    except sqlite3.DatabaseError as error:  # not a file, not SQLite, or no django_migrations table
        raise BackupError(
            _("%(file)s is not a Panel database backup (%(error)s).") % {"file": path, "error": error}
        ) from None
    if check != "ok":
        raise BackupError(_("%(file)s is damaged: SQLite's check says %(check)s.") % {"file": path, "check": check})
    if ("core", "0001_initial") not in applied:
        raise BackupError(_("%(file)s is a Django database, but not Panel's.") % {"file": path})
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    newer = sorted(f"{app}.{name}" for app, name in applied - known)
    if newer:
        raise BackupError(
            _(
                "%(file)s was made by a newer Panel (migrations this code lacks: %(migrations)s). "
                "Install that version, or a later one, to restore it."
            )
            % {"file": path, "migrations": ", ".join(newer)}
        )
    return BackupFile(path=path, missing_migrations=len(known - applied))


def restore(connection, backup: BackupFile) -> Path:
    """Replace the live database's content with ``backup``'s; returns where the replaced database was kept.

    The backup API writes under SQLite's exclusive lock in one step, so a process still running sees
    the old database or the restored one, never a mix. It waits while another holds the lock.
    """
    live = database_path(connection)
    if live.resolve() == backup.path.resolve():
        raise BackupError(_("The backup is the database itself."))
    kept = live.with_name(f"{live.name}.before-restore-{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%SZ}")
    back_up(connection, kept)
    with _open_read_only(backup.path) as source:
        source.backup(connection.connection)
    return kept


def _open_read_only(path: Path):
    """A read-only connection to an SQLite file that must exist, closed on leaving the ``with`` block."""
    return closing(sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True))
