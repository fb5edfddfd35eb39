# After accounts has let go of them (accounts 0008), the tables take organisation's names.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("organisation", "0001_initial"),
        ("accounts", "0008_companies_roles_sessions_move_out"),
    ]

    operations = [
        migrations.AlterModelTable(name="company", table=None),
        migrations.AlterModelTable(name="role", table=None),
    ]
