"""Benchmark of the user list (/users/) against Django admin's user changelist, users spread over companies.

Run with ``make bench`` (or ``.venv/bin/python bench/user_list_vs_admin.py``). Settings are
``bench.admin_settings``: the panel's plus ``django.contrib.admin``, which the panel itself never
installs. It creates one test database per size (1,000 and 100,000 users; files in a temporary folder on
SQLite, ``test_<name>_vs_admin_<size>`` on PostgreSQL), each with a tree of 1,000 companies and every
user but the superuser in one of them, then measures, in the same process with ``django.test.Client``
as the same logged-in superuser, four pages per size in interleaved rounds:

- the panel's first page (``/users/``) and last page (``/users/?page=N``), company tree included;
- the admin changelist's first page and last page (``?p=N``), 20 rows a page like the panel's.

Targets (exit status 1 if any is missed, see bench/README.md): in every case the panel is at least as
fast as the admin (median over rounds of admin ms / panel ms >= 1.0); the panel's first and last page at
100,000 users within 1.2x of the same page at 1,000; the panel's queries per request the same at both
sizes and at most 6.
"""

import argparse
import cProfile
import gc
import io
import logging
import math
import os
import pstats
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / "bench"))
os.environ["DJANGO_SETTINGS_MODULE"] = "bench.admin_settings"

from benchdb import create_database, destroy_database, prepare_environment  # noqa: E402  (this folder)

TMP_DIR = tempfile.mkdtemp(prefix="panel-bench-vs-admin-")
TEST_NAME = prepare_environment(TMP_DIR, "vs_admin")

import django  # noqa: E402

django.setup()

from benchdb import vendor_label  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment, teardown_test_environment  # noqa: E402

from accounts import selectors  # noqa: E402
from accounts.models import User  # noqa: E402
from organisation.models import Company  # noqa: E402

SIZES = (1_000, 100_000)
PER_PAGE = 20
MAX_QUERIES = 6
MIN_SPEEDUP = 1.0  # admin ms / panel ms
MAX_GROWTH = 1.2  # panel ms at 100,000 / panel ms at 1,000
BATCH_SIZE = 5_000
JOINED_SPAN = timedelta(days=3 * 365)
# 10 top-level companies, 9 subsidiaries each, 10 under each of those: 10 + 90 + 900 = 1,000.
TREE_SHAPE = (10, 9, 10)
CASES = ("panel first", "admin first", "panel last", "admin last")
# What --profile lists by cumulative time: the view and what it calls (template, rows, selectors, SQL).
PROFILED = r"views\.py.*user_list|loader\.py.*render_to_string|templatetags|rows\.py|selectors\.py|execute_sql"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="measured rounds per size (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured requests per case first (default 5)")
    parser.add_argument("--blocks", type=int, default=3, help="alternate between the sizes this many times")
    parser.add_argument("--profile", type=int, default=0, metavar="N", help="also cProfile N panel first pages")
    args = parser.parse_args()
    if args.rounds < args.blocks or args.blocks < 1:
        parser.error("--rounds must be at least --blocks, and --blocks at least 1")
    return args


# --- seeding -----------------------------------------------------------------


def seed_companies():
    rng = random.Random(18)
    level, companies = [None], []
    for depth, fanout in enumerate(TREE_SHAPE):
        new = [
            Company(name=f"Company {depth}-{len(companies) + i:04d}-{rng.randrange(10_000):04d}", parent=parent)
            for parent in level
            for i in range(fanout)
        ]
        Company.objects.bulk_create(new)
        companies.extend(new)
        level = new
    return companies


def seed(size, password_hash):
    """A superuser (no company) and size - 1 users spread over 1,000 companies."""
    rng = random.Random(20261122)
    epoch = datetime.now(UTC) - JOINED_SPAN
    span = int(JOINED_SPAN.total_seconds())
    started = time.perf_counter()
    with transaction.atomic():
        companies = seed_companies()
        admin = User.objects.create(
            username="bench-admin",
            email="admin@example.test",
            password=password_hash,
            is_superuser=True,
            date_joined=epoch - timedelta(days=1),
        )
        for start in range(1, size, BATCH_SIZE):
            User.objects.bulk_create(
                [
                    User(
                        username=f"user{n:05d}",
                        email=f"member{n:05d}@example{n % 10}.test",
                        password=password_hash,
                        company_id=companies[rng.randrange(len(companies))].pk,
                        date_joined=epoch + timedelta(seconds=rng.randrange(span)),
                    )
                    for n in range(start, min(start + BATCH_SIZE, size))
                ],
                batch_size=BATCH_SIZE,
            )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {User._meta.db_table}")
            cursor.execute(f"VACUUM ANALYZE {Company._meta.db_table}")
    return admin, time.perf_counter() - started


# --- databases ---------------------------------------------------------------


def use_database(name):
    if connection.settings_dict["NAME"] != name:
        connection.close()
        connection.settings_dict["NAME"] = name
        settings.DATABASES[connection.alias]["NAME"] = name
        selectors.forget_user_total()  # each database stands for its own panel
    connection.ensure_connection()


def urls(size):
    last = math.ceil(size / PER_PAGE)
    return {
        "panel first": "/users/",
        "admin first": "/django-admin/accounts/user/",
        "panel last": f"/users/?page={last}",
        "admin last": f"/django-admin/accounts/user/?p={last}",
    }


def expected_rows(size):
    """The username that heads the first and the last page: both pages must show it."""
    newest_first = User.objects.order_by("-date_joined", "-id").values_list("username", flat=True)
    last_start = (math.ceil(size / PER_PAGE) - 1) * PER_PAGE
    return {"first": newest_first[0], "last": newest_first[last_start]}


def get_checked(client, case, url, expected):
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{case}: GET {url} answered {response.status_code}")
    if f">{expected[case.split()[1]]}<".encode() not in response.content:
        raise SystemExit(f"{case}: GET {url} does not show {expected[case.split()[1]]} first")
    return response


def measure_block(db, *, rounds, warmup, samples):
    use_database(db["name"])
    client = Client()
    client.force_login(db["admin"])
    for case, url in db["urls"].items():
        for _ in range(warmup):
            response = get_checked(client, case, url, db["expected"])
        db["bytes"][case] = len(response.content)
    gc.collect()
    gc.disable()
    try:
        for number in range(rounds):
            order = CASES if number % 2 == 0 else CASES[::-1]  # neither side always goes first
            for case in order:
                url = db["urls"][case]
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    response = client.get(url)
                    elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise SystemExit(f"{case}: GET {url} answered {response.status_code}")
                samples[case]["times"].append(elapsed * 1000)
                samples[case]["queries"].append(len(captured.captured_queries))
    finally:
        gc.enable()


def profile(db, count):
    use_database(db["name"])
    client = Client()
    client.force_login(db["admin"])
    client.get("/users/")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(count):
        client.get("/users/")
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    # Below the view: the middleware above it is the same for every page and would fill the listing.
    stats.sort_stats("cumulative").print_stats(PROFILED, 30)
    stats.sort_stats("tottime").print_stats(15)
    print(f"\n== cProfile of {count} panel first pages at {db['size']:,} users ==")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:9000])


# --- report ------------------------------------------------------------------


def spread(values):
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def report(dbs, samples):
    ok = True
    print(f"{'case':<12} {'users':>8} {'median ms':>10} {'p90 ms':>8} {'queries':>8} {'KB':>6}")
    for case in CASES:
        for size in SIZES:
            sample = samples[size][case]
            times = sorted(sample["times"])
            queries = sorted(set(sample["queries"]))
            shown = "-".join(str(q) for q in (queries[0], queries[-1])) if len(queries) > 1 else str(queries[0])
            print(
                f"{case:<12} {size:>8,} {statistics.median(times):>10.2f} "
                f"{times[round(0.9 * (len(times) - 1))]:>8.2f} {shown:>8} {dbs[size]['bytes'][case] / 1024:>6.1f}"
            )
    print()
    print("admin ms / panel ms per round, min / median / max (>= 1.0: the panel is faster):")
    for size in SIZES:
        for page in ("first", "last"):
            ratios = [
                admin / panel
                for admin, panel in zip(
                    samples[size][f"admin {page}"]["times"], samples[size][f"panel {page}"]["times"], strict=True
                )
            ]
            passed = statistics.median(ratios) >= MIN_SPEEDUP
            ok &= passed
            print(f"{'PASS' if passed else 'FAIL'}  {page} page at {size:>7,} users: {spread(ratios)} (target >= 1.0)")
    small, large = SIZES
    for page in ("first", "last"):
        case = f"panel {page}"
        growth = statistics.median(samples[large][case]["times"]) / statistics.median(samples[small][case]["times"])
        passed = growth <= MAX_GROWTH
        ok &= passed
        print(
            f"{'PASS' if passed else 'FAIL'}  panel {page} page: median at {large:,} is {growth:.2f}x "
            f"the median at {small:,} (target <= {MAX_GROWTH}x)"
        )
        counts = set(samples[small][case]["queries"]) | set(samples[large][case]["queries"])
        passed = len(counts) == 1 and max(counts) <= MAX_QUERIES
        ok &= passed
        print(
            f"{'PASS' if passed else 'FAIL'}  panel {page} page: queries per request "
            f"{sorted(counts)} (the same at both sizes, <= {MAX_QUERIES})"
        )
    return ok


def main():
    args = parse_args()
    logging.disable(logging.INFO)  # the request log would print a line per request
    setup_test_environment()
    real_name = connection.settings_dict["NAME"]
    created = []
    try:
        password_hash = make_password("Bench-pass-42")
        dbs = {}
        for size in SIZES:
            name = create_database(
                TMP_DIR, f"{TEST_NAME}_{size}" if TEST_NAME else None, sqlite_file=f"vs_admin_{size}.sqlite3"
            )
            created.append(name)
            admin, seed_time = seed(size, password_hash)
            dbs[size] = {"name": name, "admin": admin, "size": size, "urls": urls(size), "bytes": {}}
            dbs[size]["expected"] = expected_rows(size)
            print(f"seeded {size:,} users over {Company.objects.count():,} companies in {seed_time:.1f} s")
        print(
            f"User list vs Django admin changelist: {vendor_label()}; {args.rounds} rounds per size "
            f"after {args.warmup} warm-ups, sizes alternating in {args.blocks} blocks\n"
        )
        samples = {size: {case: {"times": [], "queries": []} for case in CASES} for size in SIZES}
        for block in range(args.blocks):
            rounds = args.rounds // args.blocks + (1 if block < args.rounds % args.blocks else 0)
            for size in SIZES:
                warmup = args.warmup if block == 0 else 1
                measure_block(dbs[size], rounds=rounds, warmup=warmup, samples=samples[size])
        ok = report(dbs, samples)
        if args.profile:
            for size in SIZES:
                profile(dbs[size], args.profile)
        print()
        print("RESULT: PASS" if ok else "RESULT: FAIL")
        return 0 if ok else 1
    finally:
        for name in created:
            connection.close()
            connection.settings_dict["NAME"] = name
            destroy_database(real_name)
        connection.settings_dict["NAME"] = settings.DATABASES[connection.alias]["NAME"] = real_name
        teardown_test_environment()
        shutil.rmtree(TMP_DIR, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
