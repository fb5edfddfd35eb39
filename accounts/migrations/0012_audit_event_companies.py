# The audit events written before core 0004 get the companies their actor and target user are in now (the
# panel scoped a company admin's log by the users' current companies until then), so that the new columns
# scope old and new events alike. Batched by ID, one short transaction per batch, for a log of millions.

from django.db import migrations, models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Cast

BATCH = 20_000


def backfill(apps, schema_editor):
    AuditEvent = apps.get_model("core", "AuditEvent")
    User = apps.get_model("accounts", "User")
    events = AuditEvent.objects.using(schema_editor.connection.alias)
    last = events.aggregate(last=models.Max("id"))["last"] or 0
    actor_company = User.objects.filter(pk=OuterRef("actor_id")).values("company_id")[:1]
    target_company = User.objects.filter(pk=Cast(OuterRef("target_id"), models.BigIntegerField())).values("company_id")
    for start in range(0, last + 1, BATCH):
        batch = events.filter(id__gte=start, id__lt=start + BATCH)
        batch.filter(actor_id__isnull=False).update(actor_company_id=Subquery(actor_company))
        # Only a user's target_id is a number; the SET runs only on the rows the WHERE keeps.
        batch.filter(target_type="user").exclude(target_id="").update(target_company_id=Subquery(target_company[:1]))


class Migration(migrations.Migration):
    atomic = False  # each batch commits on its own

    dependencies = [
        ("accounts", "0011_user_language_time_zone"),
        ("core", "0004_audit_seek_indexes_and_companies"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
