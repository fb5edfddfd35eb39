# AuditEvent now lives in core (core/migrations/0001_initial.py moves its table and content type).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("panel", "0001_initial"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="AuditEvent")]),
    ]
