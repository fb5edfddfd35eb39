"""Benchmark of logging in: one password check, a throttled attempt, and a flood of wrong passwords.

Run with ``.venv/bin/python bench/login.py`` (``make bench`` runs it after the
other benchmarks). It never touches the developer's database: it creates a
migrated test database (a file in a temporary folder for SQLite,
``test_<name>_login`` on the server DATABASE_URL points at) and drops it at the
end. With REDIS_URL set it uses that Redis, as a deployed panel does, under a
key prefix of its own, and deletes the keys it wrote.

It measures, in one process, with the settings' password hashers (Argon2id):

- (a) one password check: ``User.check_password``, median ms;
- (b) a login attempt for a locked-out account: ``POST /login/`` through
  django.test.Client, median ms. It must be refused before the password hash
  runs (target: under MAX_THROTTLED_SHARE of (a)); a counting authentication
  backend and a ``user_login_failed`` receiver check that the hash never ran.
  (a) and (b) alternate in blocks, so that background load falls on both;
- (c) a flood of wrong passwords against one account, each attempt from a new
  IP address, with the lockout on. The panel's clock (time-machine) advances
  ``--step`` seconds per attempt, so that the flood spans more than a whole
  lockout cycle (the growing delays, then the lock) while it runs as fast as
  the panel answers. It reports the attempts handled per second of wall time,
  how many reached the password hash and when (target: at most the guard's
  lock_after in any lockout window);
- (d) logins with several at once: ``--threads`` threads each log a user in
  ``--rounds`` times through ``authenticate`` (bench/login_memory.py); it
  reports logins per second and the peak memory each concurrent login adds to
  the process (target: at most the Argon2 memory cost plus a few MiB).

The exit status is 1 if a target fails. See bench/README.md.
"""

import argparse
import gc
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

import login_memory  # noqa: E402  (this folder)
from benchdb import create_database, destroy_database, prepare_environment, vendor_label  # noqa: E402  (this folder)

# A throttled attempt costs under a third of one password check. It was 5% against Django's Argon2 cost
# (m=100 MiB, p=8: 200 ms or more a check); at OWASP's m=19 MiB, t=2, p=1 a check is 20 to 30 ms, and a
# throttled attempt's 5 ms (its audit row, the page) stays, so the same ~10 ms budget is a third.
MAX_THROTTLED_SHARE = 1 / 3
BENCH_PASSWORD = "Bench-pass-42"
LOCKED_USERNAME = "bench-locked"
FLOOD_USERNAME = "bench-flooded"
LOCKED_OUT_TEXT = "Too many failed attempts."
WRONG_PASSWORD_TEXT = "Incorrect username or password."


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=20, help="timed password checks for (a) (default 20)")
    parser.add_argument("--attempts", type=int, default=300, help="timed throttled attempts for (b) (default 300)")
    parser.add_argument(
        "--blocks", type=int, default=5, help="alternate between (a) and (b) this many times (default 5)"
    )
    parser.add_argument("--flood", type=int, default=2400, help="attempts in the flood (c) (default 2400)")
    parser.add_argument(
        "--step",
        type=float,
        default=0.5,
        help="seconds the panel's clock advances per flood attempt (default 0.5: 2400 attempts span 20 minutes)",
    )
    parser.add_argument("--threads", type=int, default=4, help="logins at once for (d) (default 4)")
    parser.add_argument("--rounds", type=int, default=5, help="logins per thread for (d) (default 5)")
    args = parser.parse_args()
    if min(args.checks, args.attempts, args.flood, args.blocks, args.threads, args.rounds) < 1 or args.step <= 0:
        parser.error("--checks, --attempts, --flood, --blocks, --threads, --rounds: at least 1; --step: above 0")
    if args.blocks > min(args.checks, args.attempts):
        parser.error("--blocks must be at most --checks and --attempts")
    return args


# --- the database ------------------------------------------------------------


# --- counting the password hashes --------------------------------------------


def counting_backend_class():
    from django.contrib.auth.backends import ModelBackend

    class CountingBackend(ModelBackend):
        """Django's ModelBackend, noting the panel's clock at each call.

        Every call with a username and a password runs the password hash: the
        user's, or for an unknown username a dummy one (Django's defence
        against timing the difference).
        """

        calls = []

        def authenticate(self, request, username=None, password=None, **kwargs):
            CountingBackend.calls.append(time.time())
            return super().authenticate(request, username=username, password=password, **kwargs)

    return CountingBackend


CountingBackend = None  # made once Django is set up (main)
FAILED_SIGNALS = []


def _on_login_failed(sender, credentials, request=None, **kwargs):
    FAILED_SIGNALS.append(credentials.get("username"))


def ip_address(n):
    """A distinct IPv4 address for attempt ``n`` (10.0.0.0/8 has room for 16 million)."""
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


# --- (a) and (b) -------------------------------------------------------------


def hasher_label(user):
    from django.contrib.auth.hashers import identify_hasher

    hasher = identify_hasher(user.password)
    summary = hasher.decode(user.password) if hasattr(hasher, "decode") else {}
    params = ", ".join(
        f"{label}={summary[key]}"
        for key, label in (("variety", "type"), ("memory_cost", "m KiB"), ("time_cost", "t"), ("parallelism", "p"))
        if key in summary
    )
    return f"{hasher.algorithm} ({params})" if params else hasher.algorithm


# --- (b) a throttled attempt -------------------------------------------------


def lock_out(client, username):
    """Ten wrong passwords through the login page, each after the previous one's delay (the clock moved on)."""
    import time_machine

    from core import throttle

    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        for n in range(throttle.ACCOUNT_GUARD.lock_after):
            response = client.post(
                "/login/", {"username": username, "password": f"Wrong-{n}"}, REMOTE_ADDR=f"192.0.2.{n + 1}"
            )
            if WRONG_PASSWORD_TEXT not in response.content.decode():
                raise SystemExit(f"locking out: attempt {n + 1} answered {response.status_code}")
            clock.shift(throttle.ACCOUNT_GUARD.max_delay + 1)
    # Back on the real clock, which is behind the one the lock was set by: the lock holds longer, never shorter.
    if not throttle.wait_seconds(username=username, ip="198.51.100.1"):
        raise SystemExit("the account did not lock after lock_after failures")


def _split(total, blocks):
    """``total`` spread over ``blocks`` as evenly as whole numbers allow."""
    return [total // blocks + (1 if block < total % blocks else 0) for block in range(blocks)]


def measure_check_and_throttled(user, client, *, checks, attempts, blocks):
    """(a) ``User.check_password`` and (b) ``POST /login/`` for the locked account, in alternating blocks.

    Alternating lets a change in background load fall on both, since the
    target compares them. Every throttled answer must be the lockout message.
    Returns (check samples, throttled samples, SQL of one throttled attempt, IP addresses used).
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    next_ip = iter(range(10**6))

    def check():
        start = time.perf_counter()
        ok = user.check_password(BENCH_PASSWORD)
        elapsed = (time.perf_counter() - start) * 1000
        if not ok:
            raise SystemExit("the benchmark user's password did not check")
        return elapsed

    def attempt():
        data = {"username": LOCKED_USERNAME, "password": BENCH_PASSWORD}
        start = time.perf_counter()
        response = client.post("/login/", data, REMOTE_ADDR=ip_address(next(next_ip)))
        elapsed = (time.perf_counter() - start) * 1000
        if response.status_code != 200 or LOCKED_OUT_TEXT not in response.content.decode():
            raise SystemExit(f"a throttled attempt answered {response.status_code} {response.content[:300]!r}")
        return elapsed

    for _ in range(2):  # warm-up: the first check loads the hasher's library, the first request the templates
        check()
    for _ in range(5):
        attempt()
    check_samples, attempt_samples = [], []
    for block_checks, block_attempts in zip(_split(checks, blocks), _split(attempts, blocks), strict=True):
        check_samples += [check() for _ in range(block_checks)]
        attempt_samples += [attempt() for _ in range(block_attempts)]
    with CaptureQueriesContext(connection) as captured:
        attempt()
    return check_samples, attempt_samples, [query["sql"] for query in captured.captured_queries], next(next_ip)


def measure_unthrottled(client, count, ip_offset):
    """For comparison: wrong passwords for unknown names from fresh IPs, which nothing throttles (the hash runs)."""
    samples = []
    for n in range(count + 1):
        start = time.perf_counter()
        response = client.post(
            "/login/", {"username": f"nobody-{n}", "password": "Wrong-pass-1"}, REMOTE_ADDR=ip_address(ip_offset + n)
        )
        if n:  # the first is a warm-up
            samples.append((time.perf_counter() - start) * 1000)
        if WRONG_PASSWORD_TEXT not in response.content.decode():
            raise SystemExit(f"an unthrottled attempt answered {response.status_code} {response.content[:300]!r}")
    return samples


# --- (c) the flood -----------------------------------------------------------


def flood(client, attempts, step, ip_offset):
    """Wrong passwords against one account, each from a new IP, the panel's clock advancing ``step`` per attempt.

    Returns (wall seconds, seconds inside the backend's hashes, answers by kind, hash times relative to the start).
    """
    import time_machine

    # A whole second, so that the steps land exactly on the guard's deadlines.
    start = datetime.now(UTC).replace(microsecond=0)
    answers = {"refused (wrong password)": 0, "refused (locked out)": 0}
    calls_before = len(CountingBackend.calls)
    hash_seconds = 0.0
    with time_machine.travel(start, tick=False) as clock:
        wall_start = time.perf_counter()
        for n in range(attempts):
            before = len(CountingBackend.calls)
            attempt_start = time.perf_counter()
            response = client.post(
                "/login/", {"username": FLOOD_USERNAME, "password": f"Wrong-{n}"}, REMOTE_ADDR=ip_address(ip_offset + n)
            )
            if len(CountingBackend.calls) > before:
                hash_seconds += time.perf_counter() - attempt_start
            text = response.content.decode()
            if response.status_code == 200 and LOCKED_OUT_TEXT in text:
                answers["refused (locked out)"] += 1
            elif response.status_code == 200 and WRONG_PASSWORD_TEXT in text:
                answers["refused (wrong password)"] += 1
            else:
                raise SystemExit(f"a flood attempt answered {response.status_code} {text[:300]!r}")
            clock.shift(step)
        wall = time.perf_counter() - wall_start
    origin = start.timestamp()
    hash_times = [at - origin for at in CountingBackend.calls[calls_before:]]
    return wall, hash_seconds, answers, hash_times


def most_in_any_window(times, window):
    """The largest number of ``times`` inside any half-open interval [t, t + window)."""
    best = 0
    for i, first in enumerate(times):
        best = max(best, sum(1 for t in times[i:] if t < first + window))
    return best


def timeline(times):
    return ", ".join(f"{t:g}" for t in times)


# --- report ------------------------------------------------------------------


def median_p90(samples):
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


def forget_cache_keys(ip_count):
    """Delete every guard key the benchmark may have written (they carry its own key prefix too)."""
    from django.core.cache import cache

    from core import throttle

    names = (LOCKED_USERNAME, FLOOD_USERNAME, *(f"nobody-{n}" for n in range(ip_count)))
    ips = (*(ip_address(n) for n in range(ip_count)), *(f"192.0.2.{n}" for n in range(1, 256)))
    flat = [key for name in names for key in throttle.ACCOUNT_GUARD._keys(throttle.account_key(name))]
    flat += [key for ip in ips for key in throttle.IP_GUARD._keys(ip)]
    for i in range(0, len(flat), 1000):
        cache.delete_many(flat[i : i + 1000])


def main():
    global CountingBackend

    args = parse_args()
    tmp_dir = tempfile.mkdtemp(prefix="panel-bench-login-")
    test_name = prepare_environment(tmp_dir, "login")

    import django

    django.setup()
    from django.conf import settings

    # Our own key prefix, set before the cache is first used: nothing we write can meet the panel's keys.
    settings.CACHES["default"]["KEY_PREFIX"] = f"bench-login-{uuid.uuid4().hex[:12]}"

    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.signals import user_login_failed
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings, setup_test_environment, teardown_test_environment

    from accounts.models import User
    from core import throttle

    CountingBackend = counting_backend_class()
    user_login_failed.connect(_on_login_failed)
    guard = throttle.ACCOUNT_GUARD
    real_name = connection.settings_dict["NAME"]
    created = False
    # Every IP address the run may use, for deleting the guard's keys even after a failure.
    ips_used = args.attempts + args.flood + args.checks + 20
    setup_test_environment()
    try:
        create_database(tmp_dir, test_name, sqlite_file="bench_login.sqlite3")
        created = True
        password_hash = make_password(BENCH_PASSWORD)
        locked = User.objects.create(username=LOCKED_USERNAME, email="locked@example.test", password=password_hash)
        User.objects.create(username=FLOOD_USERNAME, email="flooded@example.test", password=password_hash)
        cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        print(
            f"Panel login benchmark: {vendor_label()}, cache {cache}, hasher {hasher_label(locked)}; "
            f"account guard: {guard.free_failures} free failures, growing delays up to {guard.max_delay} s, "
            f"locked for {guard.lock_seconds} s after {guard.lock_after}"
        )
        print()

        # (d) first, before the sequential checks: the process's peak then holds nothing but these logins.
        memory_cost_kib = settings.PANEL_ARGON2_MEMORY_KIB
        per_second, per_login_kib, baseline_kib, peak_kib, peak_reset = login_memory.measure(
            LOCKED_USERNAME, BENCH_PASSWORD, threads=args.threads, rounds=args.rounds
        )

        client = Client()
        gc.disable()
        # ModelBackend with a counter: the settings' hashers, authentication as configured.
        with override_settings(AUTHENTICATION_BACKENDS=[f"{__name__}.CountingBackend"]):
            lock_out(client, LOCKED_USERNAME)
            calls, signals = len(CountingBackend.calls), len(FAILED_SIGNALS)
            check_samples, throttled_samples, throttled_sql, next_ip = measure_check_and_throttled(
                locked, client, checks=args.checks, attempts=args.attempts, blocks=args.blocks
            )
            throttled_hashes = len(CountingBackend.calls) - calls
            throttled_signals = len(FAILED_SIGNALS) - signals
            check_median, check_p90 = median_p90(check_samples)
            throttled_median, throttled_p90 = median_p90(throttled_samples)

            unthrottled_samples = measure_unthrottled(client, min(args.checks, 10), ip_offset=next_ip)
            next_ip += min(args.checks, 10) + 1
            unthrottled_median, _ = median_p90(unthrottled_samples)

            wall, hash_seconds, answers, hash_times = flood(client, args.flood, args.step, ip_offset=next_ip)
        gc.enable()

        share = throttled_median / check_median
        print("(a) one password check (User.check_password)")
        print(f"    median {check_median:8.2f} ms   p90 {check_p90:8.2f} ms   ({args.checks} checks)")
        print("(b) a login attempt for a locked-out account (POST /login/, django.test.Client)")
        print(
            f"    median {throttled_median:8.2f} ms   p90 {throttled_p90:8.2f} ms   ({args.attempts} attempts), "
            f"{share:.2%} of a password check"
        )
        print(
            f"    password hashes run: {throttled_hashes} (backend calls), {throttled_signals} (user_login_failed); "
            f"SQL per attempt ({len(throttled_sql)}): {'; '.join(sql[:60] for sql in throttled_sql)}"
        )
        print(
            f"    for comparison, an attempt nothing throttles (the hash runs): median {unthrottled_median:.2f} ms "
            f"({len(unthrottled_samples)} attempts)"
        )
        span = args.flood * args.step
        print(
            f"(c) a flood of {args.flood} wrong passwords against one account, each from a new IP, "
            f"over {span:g} s of panel time ({args.step:g} s per attempt)"
        )
        print(
            f"    handled {args.flood / wall:8.1f} attempts/s of wall time "
            f"({wall:.2f} s, of which {hash_seconds:.2f} s in the attempts that ran the hash); "
            + ", ".join(f"{count} {kind}" for kind, count in answers.items())
        )
        locked_out = answers["refused (locked out)"]
        if locked_out and wall > hash_seconds:
            print(f"    the locked-out attempts alone: {locked_out / (wall - hash_seconds):8.1f} attempts/s")
        window = guard.lock_seconds
        most = most_in_any_window(hash_times, window)
        first_cycle = [t for t in hash_times if t < window]
        print(f"    reached the password hash: {len(hash_times)}, at panel time (s): {timeline(hash_times)}")
        if len(first_cycle) >= guard.lock_after:
            locked_at = first_cycle[guard.lock_after - 1]
            during_lock = [t for t in hash_times if locked_at < t < locked_at + window]
            print(
                f"    {guard.lock_after} in the first {locked_at:g} s, then {len(during_lock)} while locked "
                f"({locked_at:g} s to {locked_at + window:g} s); at most {most} in any {window} s window"
            )
        else:
            print(f"    at most {most} in any {window} s window")
        print(f"(d) {args.threads} logins at once (authenticate, {args.rounds} each, the settings' Argon2id)")
        print(
            f"    {per_second:8.1f} logins/s; peak RSS {peak_kib / 1024:.1f} MiB over {baseline_kib / 1024:.1f} MiB "
            f"before: {per_login_kib / 1024:.1f} MiB per concurrent login (m = {memory_cost_kib / 1024:g} MiB)"
            + ("" if peak_reset else "; the kernel kept the earlier peak, so this is a lower bound")
        )
        print()
        most_per_login = memory_cost_kib + login_memory.HEADROOM_KIB

        checks = [
            (
                share < MAX_THROTTLED_SHARE,
                f"a throttled attempt costs {share:.2%} of a password check (target < {MAX_THROTTLED_SHARE:.0%})",
            ),
            (
                throttled_hashes == 0 and throttled_signals == 0,
                f"throttled attempts ran the password hash {throttled_hashes} times (target 0)",
            ),
            (
                most <= guard.lock_after and len(hash_times) >= 1,
                f"the flooded account's password was hashed at most {most} times in any {window} s lockout window "
                f"(target <= {guard.lock_after})",
            ),
            (
                per_login_kib <= most_per_login,
                f"each concurrent login holds {per_login_kib / 1024:.1f} MiB at peak "
                f"(target <= {most_per_login / 1024:g} MiB: m + {login_memory.HEADROOM_KIB // 1024} MiB)",
            ),
        ]
        ok = True
        for passed, text in checks:
            ok &= passed
            print(f"{'PASS' if passed else 'FAIL'}  {text}")
        print()
        print("RESULT: PASS" if ok else "RESULT: FAIL")
        return 0 if ok else 1
    finally:
        gc.enable()
        user_login_failed.disconnect(_on_login_failed)
        try:
            forget_cache_keys(ips_used)
        except Exception as error:  # noqa: BLE001 (report and go on cleaning up)
            print(f"could not delete the benchmark's cache keys: {error}", file=sys.stderr)
        if created:
            connection.close()
            destroy_database(real_name)
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = real_name
        teardown_test_environment()
        shutil.rmtree(tmp_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
