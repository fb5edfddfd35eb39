"""The periodic job (deploy/panel-housekeeping.timer runs it hourly): expired sessions, audit retention,
token-expiry reminders.

Each step is a service of its app, audited as the operator when it changed something. Running it again,
or twice at once, changes nothing more and sends no reminder twice.
"""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from core import mail
from core.audit import Origin, audit_prune
from core.templatetags.moments import format_moment
from tokens import services as token_services
from usersessions import services as session_services


class Command(BaseCommand):
    @property
    def help(self):
        return _(
            "Delete expired login sessions and their records, delete audit events older than "
            "PANEL_AUDIT_RETENTION_DAYS, and email token owners a week and a day before a token expires. "
            "Safe to run at any time, as often as you like."
        )

    def handle(self, *args, **options):
        origin = Origin.command("housekeeping")
        sessions, records = session_services.sessions_purge(origin=origin)
        self.stdout.write(
            _("Sessions: %(sessions)d expired deleted, %(records)d session records of ended ones deleted.")
            % {"sessions": sessions, "records": records}
        )
        pruned = audit_prune(origin=origin)
        if pruned.cutoff is None:
            self.stdout.write(_("Audit log: every event kept (PANEL_AUDIT_RETENTION_DAYS is 0)."))
        else:
            pruned_text = _("Audit log: %(count)d events from before %(cutoff)s deleted.")
            self.stdout.write(pruned_text % {"count": pruned.deleted, "cutoff": format_moment(pruned.cutoff)})
        reminders = token_services.token_expiry_reminders_send(origin=origin)
        self.stdout.write(_("Token expiry reminders: %(count)d emailed.") % {"count": reminders})
        # The reminders go through core.mail's background sender, whose wait at exit is EMAIL_TIMEOUT in all:
        # too short for many emails, and a reminder is never sent twice, so give each its own timeout.
        if reminders and not mail.wait_until_sent(settings.EMAIL_TIMEOUT * reminders):
            self.stderr.write(_("Some reminders could not be sent in time (see the log)."))
