"""The API module became a permission (accounts.use_api): keep the API working for everyone who already has a token."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant_to_token_owners(apps, schema_editor):
    # Permissions are normally created after all migrations; this one is needed now.
    accounts = apps.get_app_config("accounts")
    accounts.models_module = True
    create_permissions(accounts, apps=apps, verbosity=0)
    Permission = apps.get_model("auth", "Permission")
    AccessToken = apps.get_model("tokens", "AccessToken")
    use_api = Permission.objects.get(content_type__app_label="accounts", codename="use_api")
    owners = AccessToken.objects.values_list("user_id", flat=True).distinct()
    use_api.user_set.add(*owners)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_roles_and_api_module"),
        ("tokens", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant_to_token_owners, migrations.RunPython.noop)]
