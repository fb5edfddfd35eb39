# The audit log moves from the project app (panel) to core: the same table, renamed, with its
# content type (and so every permission granted on it) carried over.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="panel", model="auditevent").update(app_label="core")


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="core", model="auditevent").update(app_label="panel")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("panel", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AuditEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('actor_name', models.CharField(blank=True, db_index=True, max_length=64)),
                        ('action', models.CharField(max_length=64)),
                        ('target_type', models.CharField(blank=True, max_length=32)),
                        ('target_id', models.CharField(blank=True, max_length=64)),
                        ('target_name', models.CharField(blank=True, max_length=128)),
                        ('ip', models.GenericIPAddressField(blank=True, null=True)),
                        ('user_agent', models.CharField(blank=True, max_length=256)),
                        ('outcome', models.CharField(choices=[('success', 'Success'), ('failure', 'Failure')], default='success', max_length=16)),
                        ('details', models.JSONField(blank=True, default=dict)),
                        ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'ordering': ['-created_at', '-id'],
                        'indexes': [models.Index(fields=['action', '-created_at'], name='panel_audit_action_idx')],
                        'db_table': 'panel_auditevent',
                    },
                ),
            ],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
        migrations.AlterModelTable(name='auditevent', table=None),
        migrations.RenameIndex(model_name='auditevent', new_name='core_audit_action_idx', old_name='panel_audit_action_idx'),
    ]
