"""Benchmark of deleting a user at 100 and at 100,000 users, and of a write to another user meanwhile.

Run with ``.venv/bin/python bench/user_delete.py`` (``make bench`` runs it with
the other benchmarks). It never touches the developer's database: it creates
one migrated test database per size (files in a temporary folder for SQLite,
``test_<name>_delete_<size>`` on the server DATABASE_URL points at), seeds them
with bulk inserts, and drops them at the end. With REDIS_URL set it uses that
Redis under a key prefix of its own.

Every user it deletes (a "victim") has a sub-user, sessions, access tokens and
audit events, so the deletion's cascade has real work; so do some of the other
users, so that every table the cascade touches grows with the size. It measures:

- (a) ``accounts.services.user_delete`` by a superuser, the sizes alternating
  in blocks so that background load falls on both; after each deletion two
  users are added (untimed), so the size stays what it says. Target: the
  median at the largest size is within MAX_RATIO of the median at the smallest,
  with the same number of SQL queries;
- (b) PostgreSQL only: a rename of another user (``accounts.services.user_update``,
  on the main connection, with a lock timeout) with no deletion open, then while
  a second thread holds a deletion open, uncommitted. Target: no rename waits
  for the deletion (no lock timeout; the median during, less the median alone,
  under MAX_WAIT_MS). On SQLite one transaction writes at a
  time by design, so (b) is not measured there.

The exit status is 1 if a target fails. See bench/README.md.
"""

import argparse
import gc
import shutil
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchdb import create_database, destroy_database, prepare_environment, vendor_label  # noqa: E402  (this folder)

SIZES = (100, 100_000)
MAX_RATIO = 2.0
MAX_WAIT_MS = 50
LOCK_TIMEOUT = "2s"  # a rename that waits for the open deletion fails after this instead of hanging
HOLD_SECONDS = 30  # the longest a held deletion waits to be released (a safety, never reached)
BATCH_SIZE = 5_000
COMPANIES = 10
EVERY = 10  # one other user in EVERY has a sub-user, two sessions and a token
VICTIM_SESSIONS, VICTIM_EVENTS = 2, 5
BENCH_PASSWORD = "Bench-pass-42"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deletes", type=int, default=30, help="measured deletions per size (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured deletions per size first (default 3)")
    parser.add_argument("--blocks", type=int, default=3, help="alternate between the sizes this many times (default 3)")
    parser.add_argument(
        "--holds", type=int, default=5, help="renames during an open deletion per size, PostgreSQL (default 5)"
    )
    parser.add_argument(
        "--queries", action="store_true", help="print every query of a deletion with its median ms at each size"
    )
    args = parser.parse_args()
    if args.deletes < args.blocks or args.blocks < 1 or args.warmup < 1 or args.holds < 0:
        parser.error("--deletes must be at least --blocks, --blocks and --warmup at least 1, --holds at least 0")
    # Each deletion takes a victim and its sub-user; the smallest size must hold them all.
    if 2 * victims_needed(args) + 1 > SIZES[0]:
        parser.error(f"too many deletions for {SIZES[0]} users: lower --deletes, --warmup, --blocks or --holds")
    return args


def victims_needed(args):
    """Every deletion of one size: the measured ones, the warm-ups (full, then one per later block), the held ones."""
    return args.deletes + args.warmup + args.blocks - 1 + args.holds


# --- databases ---------------------------------------------------------------


def use_database(name):
    """Point the default connection (and threads' new ones) at database ``name`` and connect, outside any timing."""
    from django.conf import settings
    from django.db import connection

    if connection.settings_dict["NAME"] != name:
        connection.close()
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = name
    connection.ensure_connection()


def settle():
    """Leave the tables as autovacuum would a minute after a bulk insert (PostgreSQL): visibility map, statistics."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


# --- seeding -----------------------------------------------------------------


class Seeder:
    """Bulk inserts for one database: users, and the rows hanging off them that a deletion cascades to."""

    def __init__(self, password_hash, token_ciphertext, session_data):
        from django.utils import timezone

        self.password_hash = password_hash
        self.token_ciphertext = token_ciphertext  # one secret for every token: the bench never authenticates
        self.session_data = session_data
        self.expires = timezone.now() + timedelta(days=30)
        self.counter = 0
        self.rows = {}

    def users(self, count, *, prefix, parents=None, companies=None):
        """``count`` new users (username ``<prefix><n>``), returned with their primary keys."""
        from accounts.models import User

        new = []
        for i in range(count):
            self.counter += 1
            parent = parents[i] if parents else None
            new.append(
                User(
                    username=f"{prefix}{self.counter:06d}",
                    email=f"{prefix}{self.counter:06d}@example{self.counter % 10}.test",
                    password=self.password_hash,
                    parent=parent,
                    company_id=parent.company_id if parent else (companies[i % len(companies)] if companies else None),
                )
            )
        return self._insert(User, new)

    def extras(self, users, *, sessions=0, tokens=0, events=0):
        """Give each of ``users`` this many sessions (a stored session and its UserSession row), tokens, events."""
        from django.contrib.sessions.models import Session

        from core.models import AuditEvent
        from tokens.models import AccessToken
        from usersessions.models import UserSession

        keys = [(user, uuid.uuid4().hex) for user in users for _ in range(sessions)]
        self._insert(
            Session,
            [Session(session_key=key, session_data=self.session_data, expire_date=self.expires) for _user, key in keys],
        )
        self._insert(UserSession, [UserSession(user=user, session_key=key, ip="192.0.2.1") for user, key in keys])
        self._insert(
            AccessToken,
            [
                AccessToken(user=user, encrypted_secret=self.token_ciphertext, expires_at=self.expires)
                for user in users
                for _ in range(tokens)
            ],
        )
        self._insert(
            AuditEvent,
            [
                AuditEvent(
                    actor=user,
                    actor_name=user.username,
                    action="user.update",
                    target_type="user",
                    target_id=str(user.pk),
                    target_name=user.username,
                )
                for user in users
                for _ in range(events)
            ],
        )

    def _insert(self, model, objects):
        for start in range(0, len(objects), BATCH_SIZE):
            model.objects.bulk_create(objects[start : start + BATCH_SIZE])
        self.rows[model._meta.verbose_name_plural] = self.rows.get(model._meta.verbose_name_plural, 0) + len(objects)
        return objects


def seed(seeder, *, size, victim_count):
    """``size`` users: victims (each with a sub-user) spread evenly among the others, the superuser last.

    The superuser is inserted last, at the end of the table: a query looking for "some user who can
    manage users" by scanning the table has to read all of it, as it would once a login's update
    has moved that row. Returns (superuser, victims in the order they will be deleted, other users).
    """
    from django.db import transaction

    from accounts.models import User
    from organisation.models import Company

    others = size - 1 - 2 * victim_count
    other_subs = others // (EVERY + 1)
    with transaction.atomic():
        root = Company.objects.create(name="Bench holding")
        companies = [root.pk] + [
            Company.objects.create(name=f"Bench subsidiary {n}", parent=root).pk for n in range(1, COMPANIES)
        ]
        companies.append(None)  # some users are panel staff, in no company
        top_level = seeder.users(others - other_subs + victim_count, prefix="user", companies=companies)
        step = len(top_level) / victim_count
        victim_at = {int(i * step) for i in range(victim_count)}
        victims = [user for n, user in enumerate(top_level) if n in victim_at]
        fillers = [user for n, user in enumerate(top_level) if n not in victim_at]
        busy = fillers[::EVERY][:other_subs]
        seeder.users(other_subs, prefix="sub", parents=busy)
        victim_subs = seeder.users(victim_count, prefix="vsub", parents=victims)
        admin = User.objects.create(
            username="bench-admin", email="admin@example.test", password=seeder.password_hash, is_superuser=True
        )
        seeder.rows["users"] += 1  # the superuser
        seeder.extras(victims, sessions=VICTIM_SESSIONS, tokens=1, events=VICTIM_EVENTS)
        seeder.extras(victim_subs, sessions=1, tokens=1)
        seeder.extras(busy, sessions=2, tokens=1)
        seeder.extras(fillers, events=1)
    if User.objects.count() != size:
        raise SystemExit(f"seeding went wrong: {User.objects.count()} users instead of {size}")
    victims.reverse()  # a stack: pop() takes them from the start of the table on
    return admin, victims, fillers


# --- (a) deleting a user -----------------------------------------------------


class SQLTimer:
    """An execute wrapper noting the time of every query in the database driver."""

    def __init__(self):
        self.times = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.times.append((sql, (time.perf_counter() - started) * 1000))


def delete_one(db, samples=None):
    """Delete the next victim as the superuser (timed when ``samples`` is given), then add two users in its place."""
    from django.db import connection

    from accounts import services
    from accounts.models import User
    from core.audit import Origin

    victim = User.objects.get(pk=db["victims"].pop().pk)
    origin = Origin(actor=db["admin"], ip="192.0.2.10", user_agent="bench")
    sql_timer = SQLTimer()
    gc.collect()
    gc.disable()
    try:
        with connection.execute_wrapper(sql_timer):
            started = time.perf_counter()
            sub_users = services.user_delete(origin=origin, user=victim)
            elapsed = (time.perf_counter() - started) * 1000
    finally:
        gc.enable()
    if sub_users != 1:
        raise SystemExit(f"deleting a victim took {sub_users} sub-users with it, expected 1")
    if samples is not None:
        samples["times"].append(elapsed)
        samples["sql_times"].append(sum(ms for _sql, ms in sql_timer.times))
        samples["queries"].append(sql_timer.times)
    db["seeder"].users(2, prefix="extra")


def measure_deletes(dbs, args):
    samples = {size: {"times": [], "sql_times": [], "queries": []} for size in SIZES}
    for block in range(args.blocks):
        rounds = args.deletes // args.blocks + (1 if block < args.deletes % args.blocks else 0)
        for size in SIZES:
            use_database(dbs[size]["name"])
            for _ in range(args.warmup if block == 0 else 1):  # later blocks: one, as switching reconnects
                delete_one(dbs[size])
            for _ in range(rounds):
                delete_one(dbs[size], samples[size])
    return samples


# --- (b) a write to another user while a deletion is open --------------------


def hold_deletion(db, victim, held, release, outcome):
    """In this thread's own connection: delete ``victim`` in a transaction kept open until ``release`` is set."""
    from django.db import connections, transaction

    from accounts import services
    from core.audit import Origin

    try:
        with transaction.atomic():
            services.user_delete(origin=Origin(actor=db["admin"], user_agent="bench holding"), user=victim)
            held.set()
            outcome["released"] = release.wait(HOLD_SECONDS)
    except Exception as error:  # noqa: BLE001 (handed to the main thread)
        outcome["error"] = error
    finally:
        held.set()
        connections.close_all()


def timed_rename(db, user, username):
    """Rename ``user`` on the main connection; returns (ms, error or None)."""
    from django.db import OperationalError

    from accounts import services
    from core.audit import Origin

    started = time.perf_counter()
    try:
        services.user_update(
            origin=Origin(actor=db["admin"], user_agent="bench renaming"), user=user, username=username
        )
    except OperationalError as error:
        return (time.perf_counter() - started) * 1000, error
    return (time.perf_counter() - started) * 1000, None


def measure_renames(db, holds):
    """Per round: a rename with no deletion open, then one while another thread holds a deletion open."""
    from django.db import connection

    from accounts.models import User

    use_database(db["name"])
    with connection.cursor() as cursor:
        cursor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
    result = {"alone": [], "during": [], "errors": []}
    try:
        for n in range(holds):
            other = User.objects.get(pk=db["fillers"][n * 3 + 1].pk)  # never a victim nor a victim's sub-user
            victim = User.objects.get(pk=db["victims"].pop().pk)
            result["alone"].append(timed_rename(db, other, f"alone{n:02d}-{other.pk}")[0])
            held, release, outcome = threading.Event(), threading.Event(), {}
            holder = threading.Thread(target=hold_deletion, args=(db, victim, held, release, outcome))
            holder.start()
            try:
                held.wait(HOLD_SECONDS)
                if "error" in outcome:
                    raise SystemExit(f"the held deletion failed: {outcome['error']!r}")
                elapsed, error = timed_rename(db, other, f"during{n:02d}-{other.pk}")
            finally:
                release.set()
                holder.join()
            if not outcome.get("released") or User.objects.filter(pk=victim.pk).exists():
                raise SystemExit(f"the held deletion did not end as it should: {outcome}")
            result["during"].append(elapsed)
            if error is not None:
                result["errors"].append(str(error).strip())
            db["seeder"].users(2, prefix="extra")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    return result


# --- report ------------------------------------------------------------------


def median_p90(values):
    ordered = sorted(values)
    return statistics.median(ordered), ordered[round(0.9 * (len(ordered) - 1))]


def print_query_medians(samples):
    """Each query of a deletion with its median at both sizes, by position (they run in the same order)."""
    lists = {size: samples[size]["queries"] for size in SIZES}
    if len({len(queries) for size in SIZES for queries in lists[size]}) != 1:
        print("(the deletions ran different numbers of queries: no per-query comparison)")
        return
    print(f"{'#':>3} " + " ".join(f"{f'ms @{size:,}':>12}" for size in SIZES) + "  SQL")
    for index, (sql, _ms) in enumerate(lists[SIZES[-1]][-1]):
        medians = [statistics.median(queries[index][1] for queries in lists[size]) for size in SIZES]
        print(f"{index:>3} " + " ".join(f"{ms:>12.3f}" for ms in medians) + f"  {' '.join(sql.split())[:150]}")


def report_deletes(samples):
    print("(a) deleting a user (accounts.services.user_delete by a superuser), the victim with 1 sub-user,")
    print(f"    {VICTIM_SESSIONS + 1} sessions, 2 tokens and {VICTIM_EVENTS} audit events as actor")
    header = f"    {'users':>8} {'median ms':>10} {'p90 ms':>8} {'SQL ms':>7} {'queries':>8}"
    print(header)
    print("    " + "-" * (len(header) - 4))
    summary = {}
    for size in SIZES:
        median, p90 = median_p90(samples[size]["times"])
        counts = sorted({len(queries) for queries in samples[size]["queries"]})
        summary[size] = {"median": median, "counts": counts}
        shown = "-".join(str(count) for count in counts)
        sql_median = statistics.median(samples[size]["sql_times"])
        print(f"    {size:>8,} {median:>10.2f} {p90:>8.2f} {sql_median:>7.2f} {shown:>8}")
    return summary


def report_renames(renames):
    print(f"(b) renaming another user (accounts.services.user_update, lock_timeout {LOCK_TIMEOUT})")
    if renames is None:
        print("    n/a on SQLite: one transaction writes at a time there, by design")
        return
    print("    alone: no deletion open; during: while another connection holds a deletion open, uncommitted;")
    print("    wait: during minus alone (medians)")
    columns = ("alone median ms", 16), ("during median ms", 17), ("max ms", 7), ("wait ms", 8), ("timeouts", 9)
    header = f"    {'users':>8} " + " ".join(f"{label:>{width}}" for label, width in columns)
    print(header)
    print("    " + "-" * (len(header) - 4))
    for size in SIZES:
        result = renames[size]
        alone, during = statistics.median(result["alone"]), statistics.median(result["during"])
        figures = f"{alone:>16.2f} {during:>17.2f} {max(result['during']):>7.2f} {during - alone:>8.2f}"
        print(f"    {size:>8,} {figures} {len(result['errors']):>9}")
        for error in result["errors"][:3]:
            print(f"             {error}")


def check_targets(summary, renames):
    small, large = SIZES[0], SIZES[-1]
    ratio = summary[large]["median"] / summary[small]["median"]
    counts = summary[small]["counts"] + summary[large]["counts"]
    checks = [
        (
            ratio <= MAX_RATIO,
            f"deleting a user at {large:,} users costs {ratio:.2f}x what it costs at {small:,} "
            f"(median against median; target <= {MAX_RATIO}x)",
        ),
        (len(set(counts)) == 1, f"queries per deletion the same at both sizes ({', '.join(map(str, counts))})"),
    ]
    if renames is not None:
        for size in SIZES:
            result = renames[size]
            wait = statistics.median(result["during"]) - statistics.median(result["alone"])
            checks.append(
                (
                    not result["errors"] and wait < MAX_WAIT_MS,
                    f"at {size:,} users a rename of another user waited {wait:.2f} ms for an open deletion "
                    f"(target < {MAX_WAIT_MS} ms), {len(result['errors'])} lock timeouts (target 0)",
                )
            )
    ok = True
    for passed, text in checks:
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'}  {text}")
    return ok


def main():
    args = parse_args()
    tmp_dir = tempfile.mkdtemp(prefix="panel-bench-delete-")
    base_name = prepare_environment(tmp_dir, "delete")

    import django

    django.setup()
    from django.conf import settings

    # Our own key prefix, set before the cache is first used: nothing we touch can be the panel's.
    settings.CACHES["default"]["KEY_PREFIX"] = f"bench-delete-{uuid.uuid4().hex[:12]}"

    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    from core import crypto

    real_name = connection.settings_dict["NAME"]
    created = []
    setup_test_environment()
    try:
        started = time.perf_counter()
        password_hash = make_password(BENCH_PASSWORD)
        hash_time = time.perf_counter() - started
        token_ciphertext = crypto.encrypt(uuid.uuid4().hex)
        session_data = SessionStore().encode({})
        victim_count = victims_needed(args)
        dbs = {}
        for size in SIZES:
            connection.close()
            connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = real_name
            name = create_database(
                tmp_dir, base_name and f"{base_name}_{size}", sqlite_file=f"bench_delete_{size}.sqlite3"
            )
            created.append(name)
            seeder = Seeder(password_hash, token_ciphertext, session_data)
            started = time.perf_counter()
            admin, victims, fillers = seed(seeder, size=size, victim_count=victim_count)
            seed_time = time.perf_counter() - started
            settle()
            dbs[size] = {"name": name, "admin": admin, "victims": victims, "fillers": fillers, "seeder": seeder}
            dbs[size]["seeded"] = f"{seed_time:.2f} s: " + ", ".join(f"{n:,} {what}" for what, n in seeder.rows.items())
        postgresql = connection.vendor == "postgresql"
        print(
            f"Panel user deletion benchmark: {vendor_label()}; {args.deletes} measured deletions per size after "
            f"{args.warmup} warm-ups, sizes alternating in {args.blocks} blocks"
        )
        print(f"password hash made once in {hash_time:.2f} s ({password_hash.split('$')[0]})")
        for size in SIZES:
            print(f"seeded {size:,} users in {dbs[size]['seeded']} ({dbs[size]['name']})")
        print()

        samples = measure_deletes(dbs, args)
        renames = (
            {size: measure_renames(dbs[size], args.holds) for size in SIZES} if postgresql and args.holds else None
        )

        summary = report_deletes(samples)
        if args.queries:
            print()
            print_query_medians(samples)
        print()
        report_renames(renames)
        print()
        ok = check_targets(summary, renames)
        print()
        print("RESULT: PASS" if ok else "RESULT: FAIL")
        return 0 if ok else 1
    finally:
        # destroy_test_db drops whatever database the connection names: point it at each one created.
        for name in created:
            if name != real_name:
                connection.close()
                connection.settings_dict["NAME"] = name
                destroy_database(real_name)
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = real_name
        teardown_test_environment()
        shutil.rmtree(tmp_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
