"""A stand-in for a running panel, for the backup tests: writes to the SQLite database of PANEL_VAR_DIR.

``python -m tests.integration.sqlite_writer STOP_FILE``: transaction after transaction, each one audit
event and one session numbered n (1, 2, ...), printing n once it is committed, until STOP_FILE exists.
"""

import datetime
import os
import sys
from pathlib import Path


def main(stop_file):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings")
    import django

    django.setup()
    from django.contrib.sessions.models import Session
    from django.db import transaction

    from core.models import AuditEvent

    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    number = 0
    while not stop_file.exists():
        number += 1
        with transaction.atomic():
            AuditEvent.objects.create(action="test.write", target_id=str(number))
            Session.objects.create(session_key=f"writer{number:026d}", session_data="{}", expire_date=expires)
        print(number, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
