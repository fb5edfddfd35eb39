# Emailed codes are stored only as an HMAC from now on (mfa.models.EmailCodeDevice). A code mailed
# before this migration sits in plain text in otp_email's ``token`` column and would no longer be
# accepted anyway: clear it, so no plain code stays in the database. Its user asks for a new one
# (the one-a-minute cooldown still counts from the last email).

from django.db import migrations


def clear_plain_codes(apps, schema_editor):
    EmailDevice = apps.get_model("otp_email", "EmailDevice")
    EmailDevice.objects.exclude(token=None).update(token=None)


class Migration(migrations.Migration):

    dependencies = [
        ("mfa", "0003_salted_recovery_codes"),
        ("otp_email", "0006_add_timestamps"),
    ]

    operations = [
        migrations.RunPython(clear_plain_codes, migrations.RunPython.noop),
    ]
