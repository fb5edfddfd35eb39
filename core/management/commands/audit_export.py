"""Export the audit log, filtered as on the audit page, as CSV or JSON Lines (audited as the operator)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core import audit_export
from core.audit import EVENTS, Origin
from core.forms import AuditFilterForm
from core.models import AuditEvent


class Command(BaseCommand):
    @property
    def help(self):
        return _(
            "Write the audit events (newest first) as CSV or JSON Lines to standard output or --output, "
            "filtered as on the audit page. --since and --until take a day (2025-03-01, the whole day in UTC) "
            "or an ISO 8601 date and time (2025-03-01T12:00+02:00; UTC without an offset)."
        )

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=sorted(audit_export.FORMATS), default="csv", dest="file_format")
        parser.add_argument("--since", default="", help=_("Events from this day or moment on."))
        parser.add_argument("--until", default="", help=_("Events up to the end of this day, or up to this moment."))
        parser.add_argument("--action", default="", help=_("One kind of event, e.g. user.delete."))
        parser.add_argument("--actor", default="", help=_("Events by this username (case does not matter)."))
        parser.add_argument(
            "--output", help=_("Write to this file (replaced if it exists) instead of standard output.")
        )

    def handle(self, *args, file_format, output, **options):
        events = AuditEvent.objects.all()
        stored_actions = events.order_by().values_list("action", flat=True).distinct()
        query = {name: options[name] for name in ("since", "until", "action", "actor")}
        form = AuditFilterForm(query, actions={*EVENTS, *stored_actions})
        if not form.is_valid():
            problems = "; ".join(f"--{name}: {' '.join(errors)}" for name, errors in form.errors.items())
            raise CommandError(_("Cannot filter the audit log: %(problems)s") % {"problems": problems})
        chunks = audit_export.export(
            origin=Origin.command("audit_export"),
            events=audit_export.filter_events(events, form.cleaned_data),
            filters=form.cleaned_data,
            file_format=file_format,
        )
        if output is None:
            for chunk in chunks:
                self.stdout.write(chunk, ending="")
            return
        # newline="": the CSV writer ends its rows with CRLF itself.
        with open(output, "w", encoding="utf-8", newline="") as file:
            file.writelines(chunks)
        self.stderr.write(_("Wrote the audit events to %(file)s.") % {"file": output})
