from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("usersessions", "0001_initial"),
        ("accounts", "0008_companies_roles_sessions_move_out"),
    ]

    operations = [
        migrations.AlterModelTable(name="usersession", table=None),
    ]
