"""Before dropping an old key (or after a restore): does every stored secret open with the configured keys?"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from core import crypto


class Command(BaseCommand):
    @property
    def help(self):
        return _(
            "Check that every encrypted field of every row opens with the keys in PANEL_ENCRYPTION_KEYS. "
            "Exits non-zero naming the model, field and row IDs that do not; never prints a secret."
        )

    def handle(self, *args, **options):
        failed = False
        for field in crypto.encrypted_fields():
            check = crypto.check_field(field=field)
            label = crypto.field_label(field)
            if check.unreadable:
                failed = True
                rows = ", ".join(str(pk) for pk in check.unreadable)
                self.stderr.write(
                    _("%(field)s: %(unreadable)d of %(rows)d open with none of the keys (rows %(ids)s).")
                    % {"field": label, "unreadable": len(check.unreadable), "rows": check.rows, "ids": rows}
                )
            elif check.stale:
                self.stdout.write(
                    _("%(field)s: %(rows)d open; %(stale)d still under an older key (run reencrypt_secrets).")
                    % {"field": label, "rows": check.rows, "stale": check.stale}
                )
            else:
                self.stdout.write(
                    _("%(field)s: %(rows)d open, all under the newest key.") % {"field": label, "rows": check.rows}
                )
        if failed:
            raise CommandError(_("Some secrets cannot be read. %(advice)s") % {"advice": crypto.REPAIR_ADVICE})
        self.stdout.write(self.style.SUCCESS(_("Every stored secret opens with the configured keys.")))
