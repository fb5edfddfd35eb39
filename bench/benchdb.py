"""The benchmarks' own databases: created and migrated beside the real one, never the real one itself."""

import os
import sys
import time
import urllib.parse
from pathlib import Path


def prepare_environment(tmp_dir, suffix):
    """Point this process at a fresh var/ folder (secret key, SQLite file) before Django starts.

    Returns the benchmark database's name on the server DATABASE_URL names (``test_<name>_<suffix>``),
    or None for SQLite, whose database is a file in that folder, never the configured one.
    """
    os.environ["PANEL_VAR_DIR"] = tmp_dir
    os.environ["PANEL_DEBUG"] = "false"  # DEBUG would keep every query in memory and slow each request
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings")
    url = os.environ.get("DATABASE_URL")
    if not url or url.startswith("sqlite"):
        os.environ.pop("DATABASE_URL", None)
        return None
    return f"test_{urllib.parse.urlsplit(url).path.lstrip('/')}_{suffix}"


def create_database(tmp_dir, test_name, *, sqlite_file):
    """Create and migrate the benchmark's database; the default connection then points at it.

    On SQLite it is ``sqlite_file`` in ``tmp_dir`` (a file with the panel's real WAL settings,
    not an in-memory database); elsewhere ``test_name`` on the configured server.
    Returns the name it got.
    """
    from django.db import connection

    if connection.vendor == "sqlite":
        test_name = str(Path(tmp_dir) / sqlite_file)
    elif test_name == connection.settings_dict["NAME"]:
        raise SystemExit("refusing to run: the benchmark database would have the name of the real one")
    connection.settings_dict["TEST"]["NAME"] = test_name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
    return test_name


def destroy_database(real_name):
    from django.db import connection

    if connection.vendor == "sqlite":
        connection.close()  # the file goes with the temporary folder
        return
    try:
        connection.creation.destroy_test_db(real_name, verbosity=0)
    except Exception as error:  # noqa: BLE001 (report and go on cleaning up)
        print(f"could not drop the benchmark database: {error}", file=sys.stderr)


def vendor_label():
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return f"PostgreSQL {cursor.fetchone()[0]}"
    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    return connection.vendor


class SQLTimer:
    """An execute wrapper that adds up the time spent in the database driver."""

    def __init__(self):
        self.total = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.total += time.perf_counter() - started
