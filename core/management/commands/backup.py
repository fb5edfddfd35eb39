"""Back up the embedded SQLite database while the panel runs (SQLite's online backup API), audited."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import sqlite_backup
from core.audit import Origin, record


class Command(BaseCommand):
    @property
    def help(self):
        return _(
            "Copy the SQLite database to PATH (replaced if it exists, 0600), consistent while the panel runs "
            "and writes. On PostgreSQL use pg_dump instead (README, Backups)."
        )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help=_("The backup file to write."))

    def handle(self, *args, path, **options):
        try:
            size = sqlite_backup.back_up(connection, path)
        except (sqlite_backup.BackupError, OSError) as error:
            raise CommandError(_("No backup made: %(error)s") % {"error": error}) from None
        record(origin=Origin.command("backup"), action="database.backup", details={"file": str(path), "bytes": size})
        done = ngettext(
            "Backed up the database to %(file)s (%(size)d byte).",
            "Backed up the database to %(file)s (%(size)d bytes).",
            size,
        )
        self.stdout.write(self.style.SUCCESS(done % {"file": path, "size": size}))
