"""Benchmark of the audit log page (/audit/) at 1,000 and 1,000,000 events.

Run with ``make bench`` (or ``.venv/bin/python bench/audit_log.py``). It never touches the developer's
database: it creates one Django test database per size (files in a temporary folder for SQLite,
``test_<name>_audit_<size>`` on PostgreSQL when DATABASE_URL points there), fills each with one SQL
statement (a recursive CTE on SQLite, generate_series on PostgreSQL), measures the sizes in alternating
blocks, and destroys the databases.

Every case is one GET with django.test.Client: the first page, the oldest page, a page in the middle
(reached by its cursor), the actor, action and date filters, and a company admin's first and oldest
pages. Targets: every case lists a full page at both sizes with the same number of queries, and the
median of the per-block ratios (median at 1,000,000 / median at 1,000) is at most MAX_RATIO. The exit
status is 1 if a target fails. See bench/README.md.
"""

import argparse
import gc
import logging
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchdb import SQLTimer, prepare_environment  # noqa: E402  (this folder)

SIZES = (1_000, 1_000_000)
MAX_RATIO = 1.5
USERS = 1_000  # the same users at both sizes: only the log grows
COMPANIES = 10
PAGE = 50  # the page's default size
# The cases: (label, reader, query). The actor user0000 did one event in ten (and 1/1000 of the rest), so
# every filter fills a page at 1,000 events too and the pages compare like for like.
ACTIONS = ("auth.login", "user.update", "user.create", "session.end", "token.create", "auth.logout", "user.move")
CASES = (
    ("first page", "admin", {}),
    ("oldest page", "admin", {"oldest": "1"}),
    ("middle page", "admin", {"older": "<middle>"}),
    ("actor filter", "admin", {"actor": "USER0000"}),
    ("action filter", "admin", {"action": "user.update"}),
    ("date filter", "admin", {"since": "<40%>", "until": "<60%>"}),
    ("company admin", "company_admin", {}),
    ("company admin oldest", "company_admin", {"oldest": "1"}),
    ("quiet company admin", "quiet_admin", {}),
)
QUIET_EVENTS = 60  # a company whose one user acted 60 times, spread over the whole log, at both sizes


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="measured requests per case, size and block (8)")
    parser.add_argument("--blocks", type=int, default=4, help="alternate between the sizes this many times (4)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured requests per case before a block (3)")
    parser.add_argument("--explain", action="store_true", help="print each case's page query plan at 1,000,000")
    parser.add_argument("--sizes", type=int, nargs=2, default=SIZES, help="the two sizes (1000 1000000)")
    return parser.parse_args()


# --- databases and seeding -----------------------------------------------------


def use_database(name):
    from django.conf import settings
    from django.db import connection

    if connection.settings_dict["NAME"] != name:
        connection.close()
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = name
    connection.ensure_connection()


def create_database(name):
    from django.db import connection

    connection.settings_dict["TEST"]["NAME"] = name
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False, keepdb=False)
    return connection.settings_dict["NAME"]


def seed_people():
    """COMPANIES companies (the second a subsidiary of the first), USERS users (user i in company i % 10),
    a superuser and a company admin of the first company (with its subsidiary) who may read the log."""
    from django.contrib.auth.models import Permission

    from accounts.models import User
    from organisation.models import Company

    first = Company.objects.create(name="company0")
    companies = [first, Company.objects.create(name="company1", parent=first)]
    companies += Company.objects.bulk_create(Company(name=f"company{n}") for n in range(2, COMPANIES))
    users = User.objects.bulk_create(
        User(username=f"user{n:04d}", email=f"user{n:04d}@example.test", company=companies[n % COMPANIES])
        for n in range(USERS)
    )
    admin = User.objects.create(username="bench-admin", email="admin@example.test", is_superuser=True)
    company_admin = User.objects.create(username="company-admin", email="ca@example.test", company=first)
    quiet = Company.objects.create(name="quiet")
    quiet_user = User.objects.create(username="quiet", email="quiet@example.test", company=quiet)
    quiet_admin = User.objects.create(username="quiet-admin", email="qa@example.test", company=quiet)
    view_audit = Permission.objects.get(codename="view_auditevent")
    company_admin.user_permissions.add(view_audit)
    quiet_admin.user_permissions.add(view_audit)
    ids = [user.pk for user in users]
    company_ids = [company.pk for company in companies]
    if ids != list(range(ids[0], ids[0] + USERS)) or company_ids != list(range(company_ids[0], company_ids[0] + 10)):
        raise SystemExit("seeding expects consecutive IDs in a new database")
    return {
        "admin": admin,
        "company_admin": company_admin,
        "quiet_admin": quiet_admin,
        "quiet": quiet_user,
        "user0": ids[0],
        "company0": company_ids[0],
    }


def fill_events(size, people, start):
    """``size`` events, two per second from ``start`` (so that pairs tie on created_at), in one statement."""
    from django.db import connection

    actions = " ".join(f"WHEN {n} THEN '{action}'" for n, action in enumerate(ACTIONS))
    actor = "(CASE WHEN k % 10 = 0 THEN 0 ELSE k % 1000 END)"
    target = "((k * 7 + 3) % 1000)"
    u0, c0, epoch = people["user0"], people["company0"], int(start.timestamp())
    if connection.vendor == "sqlite":
        moment, name, rows = (
            f"datetime({epoch} + k / 2, 'unixepoch')",
            "'user' || printf('%04d', {})",
            (f"WITH RECURSIVE seq(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM seq WHERE k < {size - 1}) "),
        )
        source = "FROM seq"
    else:
        moment, name, rows = f"to_timestamp({epoch} + k / 2)", "'user' || lpad(({})::text, 4, '0')", ""
        source = f"FROM generate_series(0, {size - 1}) AS k"
    sql = (
        f"{rows}INSERT INTO core_auditevent (created_at, actor_id, actor_name, action, target_type, target_id, "
        "target_name, ip, user_agent, outcome, details, actor_company_id, target_company_id) "
        f"SELECT {moment}, {u0} + {actor}, {name.format(actor)}, CASE k % {len(ACTIONS)} {actions} END, 'user', "
        f"CAST({u0} + {target} AS TEXT), {name.format(target)}, '192.0.2.1', 'bench', "
        f"CASE WHEN k % 13 = 0 THEN 'failure' ELSE 'success' END, '{{\"via\": \"web\"}}', "
        f"{c0} + {actor} % {COMPANIES}, {c0} + {target} % {COMPANIES} {source}"
    )
    with connection.cursor() as cursor:
        # Building the indexes once after the insert is quicker than updating them row by row.
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'core_auditevent' "
                "AND sql IS NOT NULL"
            )
        else:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'core_auditevent' "
                "AND indexname NOT LIKE '%%_pkey'"
            )
        indexes = cursor.fetchall()
        for index_name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{index_name}"')
        cursor.execute(sql)
        for _index_name, definition in indexes:
            cursor.execute(definition)
        quiet = people["quiet"]
        cursor.execute(
            "UPDATE core_auditevent SET actor_id = %s, actor_name = %s, actor_company_id = %s WHERE id %% %s = 0",
            [quiet.pk, quiet.username, quiet.company_id, size // QUIET_EVENTS],
        )
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE core_auditevent")


def resolve(query, size, start):
    """The case's query with the placeholders of this size: a cursor in the middle, a window of the span."""
    from core.audit_pages import cursor_of
    from core.models import AuditEvent

    span = size // 2
    values = {
        "<40%>": (start + timedelta(seconds=span * 0.4)).isoformat(),
        "<60%>": (start + timedelta(seconds=span * 0.6)).isoformat(),
    }
    if "<middle>" in query.values():
        middle = AuditEvent.objects.order_by("created_at", "id")[size // 2 : size // 2 + 1].get()
        values["<middle>"] = cursor_of(middle)
    return {name: values.get(value, value) for name, value in query.items()}


# --- measuring -------------------------------------------------------------------


def get_page(client, label, query):
    response = client.get("/audit/", query)
    if response.status_code != 200:
        raise SystemExit(f"{label}: GET /audit/ {query} answered {response.status_code}")
    if len(response.context["page"]) != PAGE:
        raise SystemExit(f"{label}: GET /audit/ {query} listed {len(response.context['page'])} events, not {PAGE}")
    return response


def measure_block(db, *, rounds, warmup, samples):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    use_database(db["name"])
    clients = {}
    for label, reader, _query in CASES:
        client = Client()
        client.force_login(db["people"][reader])
        for _ in range(warmup):
            get_page(client, label, db["queries"][label])
        clients[label] = client
    gc.collect()
    gc.disable()
    try:
        for _ in range(rounds):
            for label, _reader, _query in CASES:
                timer = SQLTimer()
                with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(timer):
                    started = time.perf_counter()
                    get_page(clients[label], label, db["queries"][label])
                    elapsed = time.perf_counter() - started
                samples[label]["times"].append(elapsed * 1000)
                samples[label]["sql"].append(timer.total * 1000)
                samples[label]["queries"].add(len(captured.captured_queries))
                samples[label]["statements"] = [query["sql"] for query in captured.captured_queries]
    finally:
        gc.enable()


def explain(statements):
    from django.db import connection

    prefix = "EXPLAIN ANALYZE " if connection.vendor == "postgresql" else "EXPLAIN QUERY PLAN "
    for sql in statements:
        if "core_auditevent" not in sql:
            continue
        print(f"  SQL: {sql}")
        with connection.cursor() as cursor:
            cursor.execute(prefix + sql)
            for row in cursor.fetchall():
                print("    " + " | ".join(str(column) for column in row))


def report(sizes, blocks):
    """Print the table and the targets from ``blocks`` (per block, per size, per case: a sample)."""
    small, large = sizes
    ok = True
    header = f"{'case':<22}{'ms at ' + format(small, ','):>14}{'ms at ' + format(large, ','):>16}"
    header += f"{'SQL ms':>16}{'queries':>9}   ratio min / median / max"
    print(header)
    print("-" * len(header))
    for label, _reader, _query in CASES:
        medians = {size: statistics.median(t for b in blocks for t in b[size][label]["times"]) for size in sizes}
        sql = {size: statistics.median(t for b in blocks for t in b[size][label]["sql"]) for size in sizes}
        queries = {q for b in blocks for size in sizes for q in b[size][label]["queries"]}
        ratios = sorted(
            statistics.median(b[large][label]["times"]) / statistics.median(b[small][label]["times"]) for b in blocks
        )
        ratio = statistics.median(ratios)
        passed = ratio <= MAX_RATIO and len(queries) == 1
        ok &= passed
        print(
            f"{label:<22}{medians[small]:>14.2f}{medians[large]:>16.2f}"
            f"{f'{sql[small]:.2f} / {sql[large]:.2f}':>16}{'/'.join(map(str, sorted(queries))):>9}   "
            f"{ratios[0]:.2f} / {ratio:.2f} / {ratios[-1]:.2f}  {'PASS' if passed else 'FAIL'}"
        )
    print(f"\ntarget: median of the per-block ratios <= {MAX_RATIO}x, the same queries at both sizes")
    return ok


def main():
    args = parse_args()
    sizes = tuple(args.sizes)
    tmp_dir = tempfile.mkdtemp(prefix="panel-bench-audit-")
    server_name = prepare_environment(tmp_dir, "audit")
    import django

    django.setup()
    from benchdb import vendor_label
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    logging.disable(logging.INFO)  # a line per request and per login would bury the figures
    real_name = connection.settings_dict["NAME"]
    created = []
    try:
        dbs = {}
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for size in sizes:
            name = str(Path(tmp_dir) / f"audit_{size}.sqlite3") if server_name is None else f"{server_name}_{size}"
            if name == real_name:
                raise SystemExit("refusing to run: a benchmark database would have the name of the real one")
            created.append(name)
            name = create_database(name)
            started = time.perf_counter()
            people = seed_people()
            fill_events(size, people, start)
            seconds = time.perf_counter() - started
            queries = {label: resolve(query, size, start) for label, _reader, query in CASES}
            dbs[size] = {"name": name, "people": people, "queries": queries}
            print(f"seeded {size:,} events in {seconds:.1f} s")
        print(
            f"Panel audit log benchmark: {vendor_label()}; {args.blocks} blocks of {args.rounds} rounds per size, "
            f"{args.warmup} warm-ups per case and block"
        )
        blocks = []
        for _ in range(args.blocks):
            block = {size: {label: {"times": [], "sql": [], "queries": set()} for label, *_ in CASES} for size in sizes}
            for size in sizes:
                measure_block(dbs[size], rounds=args.rounds, warmup=args.warmup, samples=block[size])
            blocks.append(block)
        if args.explain:
            use_database(dbs[sizes[-1]]["name"])
            for label, *_ in CASES:
                print(f"\n== {label} at {sizes[-1]:,} events ==")
                explain(blocks[-1][sizes[-1]][label]["statements"])
        print()
        ok = report(sizes, blocks)
        print("RESULT: PASS" if ok else "RESULT: FAIL")
        return 0 if ok else 1
    finally:
        for name in created:
            connection.close()
            if connection.vendor != "sqlite":
                connection.settings_dict["NAME"] = name
                try:
                    connection.creation.destroy_test_db(real_name, verbosity=0)
                except Exception as error:  # noqa: BLE001 (keep cleaning up)
                    print(f"could not drop the benchmark database {name}: {error}", file=sys.stderr)
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = real_name
        teardown_test_environment()
        shutil.rmtree(tmp_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
