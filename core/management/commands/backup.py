"""Back up the embedded SQLite database while the panel runs (SQLite's online backup API), audited."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from core import sqlite_backup
from core.audit import Origin, record


class Command(BaseCommand):
    help = (
        "Copy the SQLite database to PATH (replaced if it exists, 0600), consistent while the panel runs "
        "and writes. On PostgreSQL use pg_dump instead (README, Backups)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="The backup file to write.")

    def handle(self, *args, path, **options):
        try:
            size = sqlite_backup.back_up(connection, path)
        except (sqlite_backup.BackupError, OSError) as error:
            raise CommandError(f"No backup made: {error}") from None
        record(origin=Origin.command("backup"), action="database.backup", details={"file": str(path), "bytes": size})
        self.stdout.write(self.style.SUCCESS(f"Backed up the database to {path} ({size} bytes)."))
