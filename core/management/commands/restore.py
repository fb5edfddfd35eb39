"""Replace the embedded SQLite database with a backup made by `backup`, audited."""

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
            "Replace the SQLite database with the backup at PATH, after checking it is a Panel database no newer "
            "than this code. Stop the panel first. The replaced database is kept beside it "
            "(.before-restore-<time>). On PostgreSQL use pg_restore instead (README, Backups)."
        )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help=_("A backup file made by `backup`."))
        parser.add_argument("--yes", action="store_true", help=_("Do not ask for confirmation."))

    def handle(self, *args, path, yes, **options):
        try:
            live = sqlite_backup.database_path(connection)
            backup = sqlite_backup.check_backup(path)
        except sqlite_backup.BackupError as error:
            raise CommandError(_("Nothing restored: %(error)s") % {"error": error}) from None
        if not yes:
            self.stdout.write(
                _(
                    "This replaces everything in %(live)s with %(file)s. Stop the panel first: "
                    "a process still running keeps its cached data and may write while the restore runs."
                )
                % {"live": live, "file": path}
            )
            # The answer stays "yes" in every language: the prompt says so.
            if _answer(_("Type yes to restore: ")) != "yes":
                raise CommandError(_("Nothing restored."))
        try:
            kept = sqlite_backup.restore(connection, backup)
        except (sqlite_backup.BackupError, OSError) as error:
            raise CommandError(_("Nothing restored: %(error)s") % {"error": error}) from None
        record(
            origin=Origin.command("restore"),
            action="database.restore",
            details={"file": str(path), "replaced_database_kept_in": str(kept)},
        )
        restored = _("Restored %(live)s from %(file)s; the replaced database is in %(kept)s.")
        self.stdout.write(self.style.SUCCESS(restored % {"live": live, "file": path, "kept": kept}))
        if backup.missing_migrations:
            missing = ngettext(
                "The backup predates %(count)d migration of this code: run `panel migrate` before starting the panel.",
                "The backup predates %(count)d migrations of this code: run `panel migrate` before starting the panel.",
                backup.missing_migrations,
            )
            self.stdout.write(missing % {"count": backup.missing_migrations})


def _answer(prompt):
    """The operator's answer, lowercased; none (end of input, as from cron) counts as no."""
    try:
        return input(prompt).strip().lower()
    except EOFError:
        return ""
