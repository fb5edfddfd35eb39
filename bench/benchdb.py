"""The benchmarks' own databases: created and migrated beside the real one, never the real one itself."""

import sys
from pathlib import Path


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
