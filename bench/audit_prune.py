"""Audit retention at scale: core.audit.audit_prune deleting most of a large audit log, batch by batch.

Fills a fresh benchmark database with ``--events`` events (default 1,000,000), ``--old`` of them (default
90%) older than the retention, times the prune that the periodic job runs, and checks that exactly the
old ones went. Each batch is one transaction: the longest batch is the longest the log is locked.

    .venv/bin/python bench/audit_prune.py                        # SQLite in a temporary folder
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/panel .venv/bin/python bench/audit_prune.py
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchdb import create_database, destroy_database, prepare_environment, vendor_label  # noqa: E402  (this folder)

RETENTION_DAYS = 365
MAX_SECONDS_PER_MILLION = 120  # the whole prune of a million old events, generous for a small machine
MAX_BATCH_SECONDS = 5  # the longest one transaction may hold the log


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the log (default 1,000,000)")
    parser.add_argument("--old", type=float, default=0.9, help="share older than the retention (default 0.9)")
    parser.add_argument("--batch-size", type=int, default=None, help="events per DELETE (default the panel's)")
    return parser.parse_args()


def fill(total, old_count):
    from django.utils import timezone

    from core.models import AuditEvent

    now = timezone.now()
    step = timedelta(seconds=1)
    old_start = now - timedelta(days=RETENTION_DAYS + 400)
    new_start = now - timedelta(days=RETENTION_DAYS - 1)
    chunk = 20_000
    for first in range(0, total, chunk):
        events = []
        for n in range(first, min(first + chunk, total)):
            when = old_start + n * step if n < old_count else new_start + (n - old_count) * step
            events.append(AuditEvent(created_at=when, action="auth.login", actor_name=f"user{n % 500}"))
        AuditEvent.objects.bulk_create(events)


def main():
    args = parse_args()
    tmp_dir = tempfile.mkdtemp(prefix="panel-bench-prune-")
    test_name = prepare_environment(tmp_dir, "audit_prune")
    os.environ["PANEL_AUDIT_RETENTION_DAYS"] = str(RETENTION_DAYS)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from core import audit
    from core.models import AuditEvent

    real_name = connection.settings_dict["NAME"]
    created = False
    try:
        create_database(tmp_dir, test_name, sqlite_file="bench_audit_prune.sqlite3")
        created = True
        old_count = int(args.events * args.old)
        started = time.perf_counter()
        fill(args.events, old_count)
        print(
            f"{vendor_label()}: {args.events:,} events, {old_count:,} older than {RETENTION_DAYS} days "
            f"(filled in {time.perf_counter() - started:.1f} s)"
        )

        batch_size = args.batch_size or audit.PRUNE_BATCH_SIZE
        batch_times = []

        def time_deletes(execute, sql, params, many, context):
            began = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                if sql.lstrip().upper().startswith("DELETE"):
                    batch_times.append(time.perf_counter() - began)

        started = time.perf_counter()
        with connection.execute_wrapper(time_deletes):
            pruned = audit.audit_prune(origin=audit.Origin.command("bench"), batch_size=batch_size)
        elapsed = time.perf_counter() - started

        left = AuditEvent.objects.exclude(action="audit.prune").count()
        per_million = elapsed / max(pruned.deleted, 1) * 1_000_000
        print(
            f"pruned {pruned.deleted:,} in {elapsed:.1f} s ({per_million:.0f} s per million), "
            f"{len(batch_times)} batches of {batch_size:,}, longest {max(batch_times):.2f} s, {left:,} left"
        )
        ok = (
            pruned.deleted == old_count
            and left == args.events - old_count
            and per_million <= MAX_SECONDS_PER_MILLION
            and max(batch_times) <= MAX_BATCH_SECONDS
        )
        print("RESULT:", "PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        if created:
            connection.close()
            destroy_database(real_name)
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = real_name
        shutil.rmtree(tmp_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
