# Company and Role now live in organisation, UserSession in usersessions (their 0001 migrations
# take over the tables); here accounts lets go of them and points User.company at the new home.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0007_grant_api_module_to_token_owners"),
        ("organisation", "0001_initial"),
        ("usersessions", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='user',
                    name='company',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='users', to='organisation.company'),
                ),
                migrations.DeleteModel(name='Role'),
                migrations.DeleteModel(name='Company'),
                migrations.DeleteModel(name='UserSession'),
            ],
        ),
    ]
