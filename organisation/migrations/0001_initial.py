# Companies and roles move from accounts to organisation: the same tables, renamed, with their
# content types (and so every permission granted on them) carried over.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

MODELS = ("company", "role")


def move_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="accounts", model__in=MODELS).update(app_label="organisation")


def move_content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="organisation", model__in=MODELS).update(app_label="accounts")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("accounts", "0007_grant_api_module_to_token_owners"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Company',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('parent', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='subsidiaries', to='organisation.company')),
                    ],
                    options={
                        'verbose_name_plural': 'companies',
                        'ordering': ['name', 'id'],
                        'db_table': 'accounts_company',
                    },
                ),
                migrations.CreateModel(
                    name='Role',
                    fields=[
                        ('group', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='role', serialize=False, to='auth.group')),
                        ('company', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='roles', to='organisation.company')),
                    ],
                    options={'db_table': 'accounts_role'},
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
