"""Benchmark of the user list page (/users/) at 1,000 and 100,000 users.

Run with ``make bench`` (or ``.venv/bin/python bench/user_list.py``). It never
touches the developer's database: it creates one Django test database per size
(files in a temporary folder for SQLite, ``test_<name>_<size>`` on PostgreSQL
when DATABASE_URL points there), seeds them with bulk inserts, measures the
sizes in alternating blocks, and destroys the databases.

For each size and scenario it reports the median and 90th percentile time of a
request made with django.test.Client as a logged-in superuser, the time spent
in the database, and the number of SQL queries each request runs. Targets: the query count is the same at both
sizes and at most MAX_QUERIES; the median at the largest size is within
MAX_RATIO of the median at the smallest. The exit status is 1 if a target
fails. See bench/README.md.
"""

import argparse
import gc
import os
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
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "panel.settings")

import django  # noqa: E402

django.setup()

from benchdb import SQLTimer, vendor_label  # noqa: E402  (this folder)
from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment, teardown_test_environment  # noqa: E402

from accounts import selectors  # noqa: E402
from accounts.models import User  # noqa: E402

SIZES = (1_000, 100_000)
MAX_QUERIES = 6
MAX_RATIO = 1.5
BATCH_SIZE = 5_000
# date_joined is spread at random over this span, so that id order and
# creation order differ and the ORDER BY really has to sort (or use its index).
JOINED_SPAN = timedelta(days=3 * 365)
BENCH_PASSWORD = "Bench-pass-42"
ADMIN_USERNAME = "bench-admin"

# (label, query string). The searches are case-insensitive prefix searches on
# username or email. Usernames are user<N>, emails member<N>@example<N % 10>.test,
# with N zero-padded to five digits, so that a prefix such as user001 matches the
# same 100 users (user00100 to user00199) at both sizes: each search fills the
# same pages at 1,000 and at 100,000 users, and only the table around it grows.
SCENARIOS = (
    ("first page", ""),
    ("search username", "q=user001"),
    ("search email", "q=Member001"),
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30, help="measured requests per case and size (default 30)")
    parser.add_argument("--warmup", type=int, default=5, help="unmeasured requests per case before them (default 5)")
    parser.add_argument(
        "--blocks", type=int, default=3, help="alternate between the sizes this many times while measuring (default 3)"
    )
    parser.add_argument(
        "--explain", action="store_true", help="print the query plan of every query of each case at the largest size"
    )
    args = parser.parse_args()
    if args.requests < args.blocks or args.blocks < 1:
        parser.error("--requests must be at least --blocks, and --blocks at least 1")
    return args


# --- databases ---------------------------------------------------------------


def test_database_name(real_name, size, tmp_dir):
    """One test database per size, so that the sizes can be measured in alternation."""
    if connection.vendor == "sqlite":
        # A file on disk, with the WAL and synchronous settings of the real
        # configuration, is closer to a deployed panel than Django's default
        # in-memory test database (which would also vanish when we switch).
        return str(Path(tmp_dir) / f"bench_{size}.sqlite3")
    base = connection.settings_dict["TEST"]["NAME"] or f"test_{real_name}"
    return f"{base}_{size}"


def create_database(name):
    """Create Django's test database ``name`` (migrated); the connection then points at it."""
    connection.settings_dict["TEST"]["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)


def use_database(name):
    """Point the default connection at test database ``name`` and connect (outside any timing)."""
    if connection.settings_dict["NAME"] != name:
        connection.close()
        connection.settings_dict["NAME"] = name
        settings.DATABASES[connection.alias]["NAME"] = name
        # Each database stands for a separate panel: the cached user total belongs to one of them.
        # Only that key: clearing the whole cache would empty a developer's Redis database.
        selectors.forget_user_total()
    connection.ensure_connection()


def settle():
    """Bring the table to the state autovacuum leaves it in a minute after a bulk insert (PostgreSQL).

    VACUUM sets the visibility map (so COUNT(*) can use an index-only scan) and
    ANALYZE gives the planner statistics. SQLite has no autovacuum and Django
    never runs ANALYZE there, so the SQLite table is left as inserted.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {User._meta.db_table}")


# --- seeding -----------------------------------------------------------------


def seed(*, size, password_hash):
    """A superuser (the oldest user) and size - 1 users, in batches; all share one password hash.

    Returns the superuser and the seconds the bulk insert took.
    """
    rng = random.Random(20261122)
    epoch = datetime.now(UTC) - JOINED_SPAN
    span = int(JOINED_SPAN.total_seconds())
    admin = User.objects.create(
        username=ADMIN_USERNAME,
        email="admin@example.test",
        password=password_hash,
        is_superuser=True,
        date_joined=epoch - timedelta(days=1),
    )
    started = time.perf_counter()
    with transaction.atomic():
        for batch_start in range(1, size, BATCH_SIZE):
            User.objects.bulk_create(
                [
                    User(
                        username=f"user{n:05d}",
                        email=f"member{n:05d}@example{n % 10}.test",
                        password=password_hash,
                        date_joined=epoch + timedelta(seconds=rng.randrange(span)),
                    )
                    for n in range(batch_start, min(batch_start + BATCH_SIZE, size))
                ],
                batch_size=BATCH_SIZE,
            )
    elapsed = time.perf_counter() - started
    if User.objects.count() != size:
        raise SystemExit(f"seeding went wrong: {User.objects.count()} users instead of {size}")
    return admin, elapsed


# --- measuring ---------------------------------------------------------------


def url_for(query):
    return "/users/" + (f"?{query}" if query else "")


def expected_count(query, admin):
    """The true number of matches, counted now (the page itself may use the cached total)."""
    search = query.partition("=")[2]
    if not search:
        return selectors.user_count()
    return selectors.user_list(actor=admin, search=search).paginator.count


def get_ok(label, client, url):
    response = client.get(url)
    if response.status_code != 200:
        raise SystemExit(f"{label}: GET {url} answered {response.status_code}, expected 200")
    return response


def measure_block(db, *, rounds, warmup, samples):
    """Warm up, then time ``rounds`` GETs of every case on one database, interleaved round by round.

    Every block logs in afresh: the first request of a session does the
    once-a-minute session touch, and it is a warm-up, so measured requests
    never do. The garbage collector is paused while timing.
    """
    use_database(db["name"])
    clients = {}
    for label, query in SCENARIOS:
        client = Client()
        client.force_login(db["admin"])
        url = url_for(query)
        for _ in range(warmup):
            response = get_ok(label, client, url)
        # The page is the real thing: it shows the expected number of users ("1–20 of 100,000 users").
        if f"{db['counts'][label]:,} user".encode() not in response.content:
            raise SystemExit(f"{label}: GET {url} does not show the expected count {db['counts'][label]}")
        clients[label] = (client, url)
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            for label, (client, url) in clients.items():
                sql_timer = SQLTimer()
                with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(sql_timer):
                    started = time.perf_counter()
                    response = get_ok(label, client, url)
                    elapsed = time.perf_counter() - started
                sample = samples[label]
                sample["times"].append(elapsed * 1000)
                sample["sql_times"].append(sql_timer.total * 1000)
                sample["queries"].append(len(captured.captured_queries))
                sample["sql"] = [query["sql"] for query in captured.captured_queries]
    finally:
        gc.enable()


def new_sample():
    return {"times": [], "sql_times": [], "queries": [], "sql": []}


def summarize(sample):
    times = sorted(sample["times"])
    return {
        "median": statistics.median(times),
        "p90": times[round(0.9 * (len(times) - 1))],
        "sql_median": statistics.median(sample["sql_times"]),
        "queries": max(sample["queries"]),
        "queries_min": min(sample["queries"]),
        "sql": sample["sql"],
    }


def explain(sql_list):
    prefix = "EXPLAIN ANALYZE " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    for sql in sql_list:
        print(f"\n  SQL: {sql}")
        try:
            with connection.cursor() as cursor:
                cursor.execute(prefix + sql)
                for row in cursor.fetchall():
                    print("    " + " | ".join(str(col) for col in row))
        except Exception as error:  # noqa: BLE001 (diagnostic only)
            print(f"    (cannot explain: {error})")


# --- report ------------------------------------------------------------------


def print_table(results):
    header = (
        f"{'scenario':<18} {'url':<22} {'users':>8} {'matches':>8} {'median ms':>10} {'p90 ms':>8} "
        f"{'SQL ms':>7} {'queries':>8}"
    )
    print(header)
    print("-" * len(header))
    for label, query in SCENARIOS:
        for size in SIZES:
            r = results[(label, size)]
            queries = str(r["queries"]) if r["queries"] == r["queries_min"] else f"{r['queries_min']}-{r['queries']}"
            figures = f"{r['matches']:>8,} {r['median']:>10.2f} {r['p90']:>8.2f} {r['sql_median']:>7.2f} {queries:>8}"
            print(f"{label:<18} {url_for(query):<22} {size:>8,} {figures}")


def check_targets(results):
    small, large = SIZES[0], SIZES[-1]
    ok = True
    for label, _query in SCENARIOS:
        counts = [results[(label, size)]["queries"] for size in SIZES]
        mins = [results[(label, size)]["queries_min"] for size in SIZES]
        passed = len(set(counts + mins)) == 1 and counts[0] <= MAX_QUERIES
        ok &= passed
        shown = ", ".join(str(c) for c in counts)
        print(f"{'PASS' if passed else 'FAIL'}  {label}: queries per request constant and <= {MAX_QUERIES} ({shown})")
        ratio = results[(label, large)]["median"] / results[(label, small)]["median"]
        passed = ratio <= MAX_RATIO
        ok &= passed
        print(
            f"{'PASS' if passed else 'FAIL'}  {label}: median at {large:,} users is {ratio:.2f}x "
            f"the median at {small:,} (target <= {MAX_RATIO}x)"
        )
    return ok


def main():
    args = parse_args()
    setup_test_environment()
    real_name = connection.settings_dict["NAME"]
    tmp_dir = tempfile.mkdtemp(prefix="panel-bench-")
    created = []
    try:
        names = {size: test_database_name(real_name, size, tmp_dir) for size in SIZES}
        if real_name in names.values():
            raise SystemExit("refusing to run: a test database would have the name of the real one")
        started = time.perf_counter()
        password_hash = make_password(BENCH_PASSWORD)
        hash_time = time.perf_counter() - started
        dbs = {}
        for size, name in names.items():
            created.append(name)
            create_database(name)
            admin, seed_time = seed(size=size, password_hash=password_hash)
            settle()
            counts = {label: expected_count(query, admin) for label, query in SCENARIOS}
            dbs[size] = {"name": name, "admin": admin, "counts": counts, "seed_time": seed_time}
        print(
            f"Panel user list benchmark: {vendor_label()}; {args.requests} measured requests per case and size "
            f"after {args.warmup} warm-ups, sizes alternating in {args.blocks} blocks"
        )
        print(f"password hash made once in {hash_time:.2f} s ({password_hash.split('$')[0]})")
        for size, db in dbs.items():
            print(f"seeded {size:,} users in {db['seed_time']:.2f} s (bulk_create) into {db['name']}")

        samples = {size: {label: new_sample() for label, _query in SCENARIOS} for size in SIZES}
        for block in range(args.blocks):
            rounds = args.requests // args.blocks + (1 if block < args.requests % args.blocks else 0)
            for size in SIZES:
                # Full warm-ups first; afterwards one request per case refills the caches.
                warmup = args.warmup if block == 0 else 1
                measure_block(dbs[size], rounds=rounds, warmup=warmup, samples=samples[size])
        results = {}
        for size in SIZES:
            for label, _query in SCENARIOS:
                results[(label, size)] = summarize(samples[size][label]) | {"matches": dbs[size]["counts"][label]}

        if args.explain:
            use_database(dbs[SIZES[-1]]["name"])
            for label, query in SCENARIOS:
                print(f"\n== {label}: {url_for(query)} at {SIZES[-1]:,} users ==")
                explain(results[(label, SIZES[-1])]["sql"])
        print()
        print_table(results)
        print()
        ok = check_targets(results)
        print()
        print("RESULT: PASS" if ok else "RESULT: FAIL")
        return 0 if ok else 1
    finally:
        # destroy_test_db drops whatever database the connection names, so
        # point it at each test database that was created, never the real one.
        for name in created:
            if name != real_name:
                connection.close()
                connection.settings_dict["NAME"] = name
                try:
                    connection.creation.destroy_test_db(real_name, verbosity=0)
                except Exception as error:  # noqa: BLE001 (keep cleaning up the others)
                    print(f"could not drop the test database {name}: {error}", file=sys.stderr)
        connection.settings_dict["NAME"] = settings.DATABASES[connection.alias]["NAME"] = real_name
        teardown_test_environment()
        shutil.rmtree(tmp_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
