"""Benchmark of token authentication on the JSON API, against a real gunicorn server.

Run with ``.venv/bin/python bench/api_auth.py`` (``make bench`` runs it after
the user list benchmark). It never touches the developer's database: it creates
a migrated test database (a file in a temporary folder for SQLite,
``test_<name>_api_auth`` on the server DATABASE_URL points at), adds one
superuser, one panel access token and one Django REST framework token, and
starts gunicorn on a free port of 127.0.0.1 with a fixed number of sync
workers, configured like the panel (PANEL_* variables, REDIS_URL and
PANEL_DB_CONN_MAX_AGE pass through) but with ``bench.comparison_settings``:
the panel's settings plus DRF and the two yardstick views of
``bench/comparison_urls.py`` (DRF is the ``[bench]`` extra; the panel never imports it).

Several client processes, each with its own HTTP connection, then request
five cases from that one server, the cases taking turns in rounds:

- ``bare``: ``GET /api/health``, a JSON view with no authentication and no query;
- ``one-query``: ``GET /api/bench/one-query/<pk>``, no authentication, one query by primary key,
  answering the user as /api/user/info does (the fair floor);
- ``drf``: ``GET /api/bench/drf/user/info`` with ``Authorization: Token <key>``, DRF's
  TokenAuthentication in front of an APIView answering the same JSON;
- ``bearer``: ``GET /api/user/info`` with ``Authorization: Bearer pnl_<id>_<secret>``;
- ``signed``: ``GET /api/user/info?x=1&n=<unique>``, each request signed (X-Timestamp, HMAC-SHA256)
  and different, as the panel accepts each signature once; the clients sign them between slots, so that
  their signing does not take the server's CPU while the case is timed.

It prints requests per second per case and round, and for bearer and signed their ratio to drf
(target: at least MIN_RATIO_DRF) and to one-query (target: at least MIN_RATIO_ONE_QUERY), each taken
within a round (min / median / max over the rounds; the target applies to the median). It then counts
in-process, with django.test.Client on the same database, the SQL queries authentication adds to a
request (target: at most MAX_AUTH_QUERIES). The exit status is 1 if a target fails.

``--profile N`` runs no server: it sends N requests of each case in-process through Django's WSGI
handler (what gunicorn calls), prints the CPU time per request, and the top functions of a cProfile
of the ``--profile-case`` case. See bench/README.md.
"""

import argparse
import collections
import cProfile
import http.client
import io
import itertools
import json
import math
import multiprocessing
import os
import pstats
import shutil
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
# The signing code of the documented example client, not the panel's own: the
# benchmark is a client written from DESIGN.md like any other.
sys.path.insert(0, str(REPO_ROOT / "docs" / "clients"))

from benchdb import create_database, destroy_database, prepare_environment, vendor_label  # noqa: E402  (this folder)
from benchserver import HOST, free_port, start_gunicorn, stop_server  # noqa: E402
from panel_client import canonical_query, signature  # noqa: E402

MIN_RATIO_DRF = 1.0
MIN_RATIO_ONE_QUERY = 0.8
MAX_AUTH_QUERIES = 1
SETTINGS_MODULE = "bench.comparison_settings"
ADMIN_USERNAME = "bench-admin"

# (label, path ({user_id} is the benchmark user's), query string or "", authentication scheme or None)
CASES = (
    ("bare", "/api/health", "", None),
    ("one-query", "/api/bench/one-query/{user_id}", "", None),
    ("drf", "/api/bench/drf/user/info", "", "drf"),
    ("bearer", "/api/user/info", "", "bearer"),
    ("signed", "/api/user/info", "x=1", "signed"),
)
TOKEN_CASES = ("bearer", "signed")
# (case, the case it is compared with, the least ratio of their throughputs)
TARGETS = tuple(
    (case, reference, minimum)
    for case in TOKEN_CASES
    for reference, minimum in (("drf", MIN_RATIO_DRF), ("one-query", MIN_RATIO_ONE_QUERY))
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument(
        "--clients", type=int, default=4, help="client processes, each with its own connection (default 4)"
    )
    parser.add_argument("--duration", type=float, default=5.0, help="measured seconds per case and round (default 5)")
    parser.add_argument(
        "--warmup", type=float, default=2.5, help="unmeasured seconds first, the cases taking turns (default 2.5)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each measures every case once (default 3)")
    parser.add_argument(
        "--slice", type=float, default=0.5, help="seconds a case runs before the next takes its turn (default 0.5)"
    )
    parser.add_argument("--queries", type=int, default=20, help="requests per case when counting SQL (default 20)")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="no server: N in-process requests per case, profiled"
    )
    parser.add_argument(
        "--profile-case", default="bearer", choices=[case[0] for case in CASES], help="the case cProfile shows"
    )
    parser.add_argument("--profile-out", metavar="PATH", help="also write the cProfile data there (pstats format)")
    args = parser.parse_args()
    if min(args.workers, args.clients, args.rounds, args.queries) < 1 or min(args.duration, args.slice) <= 0:
        parser.error("--workers, --clients, --rounds and --queries must be at least 1, --duration and --slice above 0")
    return args


# --- the database and the server -------------------------------------------


def seed():
    """A superuser, a long-term panel token and a DRF token of the same user; returns the credentials (a dict)."""
    from django.contrib.auth.hashers import make_password
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from core.audit import Origin
    from tokens.credentials import bearer_string
    from tokens.services import token_create

    admin = User.objects.create(
        username=ADMIN_USERNAME, email="admin@example.test", password=make_password(None), is_superuser=True
    )
    token, secret = token_create(origin=Origin.command("bench"), user=admin, long_term=True, name="bench")
    drf_key = Token.objects.create(user=admin).key
    return {
        "token_id": token.pk,
        "secret": secret,
        "bearer": bearer_string(token.pk, secret),
        "drf_key": drf_key,
        "user_id": admin.pk,
    }


def start_server(*, port, workers, database_url, log_path):
    return start_gunicorn(
        ("panel.wsgi", "--worker-class", "sync"),
        port=port,
        workers=workers,
        database_url=database_url,
        log_path=log_path,
        ready=lambda _process: get(port, "/api/health", {})[0] == 200,
    )


# --- the clients -------------------------------------------------------------


def get(port, url, headers, connection=None):
    conn = connection or http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", url, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        if connection is None:
            conn.close()


_requests_made = itertools.count()


def path_of(case, credentials):
    return case[1].format(user_id=credentials["user_id"])


def query_of(case):
    """The query string of one request of ``case``; signed ones all differ, since each signature is accepted once."""
    _label, _path, query, scheme = case
    return canonical_query(f"{query}&n={os.getpid()}.{next(_requests_made)}") if scheme == "signed" else query


def request_headers(case, credentials, query):
    """The headers of one request of ``case`` for ``query``; a signed one is signed now, at the current time."""
    scheme = case[3]
    if scheme == "bearer":
        return {"Authorization": f"Bearer {credentials['bearer']}"}
    if scheme == "drf":
        return {"Authorization": f"Token {credentials['drf_key']}"}
    if scheme == "signed":
        timestamp = int(time.time())
        sig = signature(
            secret=credentials["secret"], timestamp=timestamp, method="GET", path=case[1], query=query, body=b""
        )
        credential = credentials["token_id"]
        return {"X-Timestamp": str(timestamp), "Authorization": f"HMAC-SHA256 Credential={credential}, Signature={sig}"}
    return {}


class Requests:
    """The requests one client sends of each case: ``url, headers = requests.next(case)``.

    Signed ones are signed ahead, topped up between slots (``top_up``), not while a slot is timed: the
    client processes share the server's CPUs, and signing each request as it is sent (about 0.1 ms of
    Python) would take CPU from the server in the signed case alone. Each is still different, and signed
    at most ``MAX_AGE`` seconds before it is sent (the server accepts 300).
    """

    STOCK = 1000  # more than one client sends in any slot
    MAX_AGE = 60

    def __init__(self, credentials):
        self.credentials = credentials
        self.case = next(case for case in CASES if case[3] == "signed")
        self.signed = collections.deque()  # (signed at, url, headers), oldest first

    def top_up(self):
        while self.signed and time.time() - self.signed[0][0] > self.MAX_AGE:
            self.signed.popleft()
        while len(self.signed) < self.STOCK:
            self.signed.append((time.time(), *self._fresh(self.case)))

    def next(self, case):
        if case is self.case and self.signed:
            return self.signed.popleft()[1:]
        return self._fresh(case)

    def _fresh(self, case):
        query = query_of(case)
        url = path_of(case, self.credentials) + (f"?{canonical_query(query)}" if query else "")
        return url, request_headers(case, self.credentials, query)


def schedule(start, args):
    """The time slots of a run: ``(start, end, round or None for the warm-up, case)``.

    The warm-up cycles through the cases in slices of ``--slice`` seconds, unmeasured; then each round
    gives every case ``--duration`` seconds, cut into slices that take turns (the order reversed every
    other cycle), so that background load falls on every case alike even when it changes within seconds.
    """
    slots, at = [], start
    cycles = max(1, round(args.duration / args.slice))
    length = args.duration / cycles
    warmup_cycles = math.ceil(max(0.0, args.warmup) / (args.slice * len(CASES)))
    for cycle in range(warmup_cycles):
        for case in CASES if cycle % 2 == 0 else CASES[::-1]:
            slots.append((at, at + args.slice, None, case))
            at += args.slice
    for round_number in range(args.rounds):
        for cycle in range(cycles):
            for case in CASES if cycle % 2 == 0 else CASES[::-1]:
                slots.append((at, at + length, round_number, case))
                at += length
    return slots


def client_loop(port, credentials, slots, results):
    """Follow ``slots``: request the slot's case back to back while it lasts.

    A request counts in the slot it started in. Per slot, the client was busy from its first request's
    start to its last one's end; its rate in a case and round is its requests over those busy spans.
    gunicorn's sync workers close the connection after each response; http.client then opens a new one
    for the next request, as any client of such a server does.
    """
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    requests = Requests(credentials)
    tally = {}  # (round, label): [requests, busy seconds, failures, first failure]
    for slot_start, slot_end, round_number, case in slots:
        requests.top_up()
        while time.time() < slot_start:
            time.sleep(min(0.001, max(0.0, slot_start - time.time())))
        done = errors = 0
        first_error = None
        first_start = last_end = None
        while (started := time.time()) < slot_end:
            url, headers = requests.next(case)
            try:
                status, body = get(port, url, headers, connection=conn)
            except (OSError, http.client.HTTPException) as error:
                status, body = None, str(error).encode()
                conn.close()
            last_end = time.time()
            first_start = first_start or started
            if status == 200:
                done += 1
            else:
                errors += 1
                first_error = first_error or f"{status}: {body[:200]!r}"
        if round_number is None or first_start is None:
            continue
        entry = tally.setdefault((round_number, case[0]), [0, 0.0, 0, None])
        entry[0] += done
        entry[1] += last_end - first_start
        entry[2] += errors
        entry[3] = entry[3] or first_error
    conn.close()
    results.put(tally)


def measure_all(args, port, credentials):
    """Run every round with ``--clients`` processes; {label: [req/s per round]} and {label: [failures, first]}."""
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    results = context.Queue()
    slots = schedule(time.time() + 0.5, args)  # let every process start before the first slot
    processes = [
        context.Process(target=client_loop, args=(port, credentials, slots, results)) for _ in range(args.clients)
    ]
    for process in processes:
        process.start()
    tallies = [results.get(timeout=slots[-1][1] - time.time() + 60) for _ in processes]
    for process in processes:
        process.join()
    rates = {case[0]: [0.0] * args.rounds for case in CASES}
    failures = {case[0]: [0, None] for case in CASES}
    for tally in tallies:
        for (round_number, label), (done, busy, errors, first_error) in tally.items():
            rates[label][round_number] += done / busy if busy else 0.0
            failures[label][0] += errors
            failures[label][1] = failures[label][1] or first_error
    return rates, failures


def check_cases(port, credentials):
    """Every case answers 200 with the expected JSON before anything is timed."""
    for case in CASES:
        label, path = case[0], path_of(case, credentials)
        query = query_of(case)
        url = path + (f"?{canonical_query(query)}" if query else "")
        status, body = get(port, url, request_headers(case, credentials, query))
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        expected = {"status": "ok"} if label == "bare" else {"username": ADMIN_USERNAME}
        if status != 200 or not isinstance(data, dict) or expected.items() - data.items():
            raise SystemExit(f"{label}: GET {url} answered {status} {body[:300]!r}")


# --- SQL queries -------------------------------------------------------------


def count_queries(credentials, repeats):
    """SQL queries per request of each case, in-process with django.test.Client on the same database.

    One unmeasured request per case first: the first use of a token in a
    minute also writes its last-used time, which is reported separately.
    Returns {label: (min, max, sql of the last request)} and the first-use count.
    """
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from tokens.models import AccessToken

    client = Client(HTTP_HOST="localhost")
    token_id = credentials["token_id"]

    def one(case):
        label, path = case[0], path_of(case, credentials)
        query = query_of(case)
        extra = {
            f"HTTP_{name.upper().replace('-', '_')}": value
            for name, value in request_headers(case, credentials, query).items()
        }
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path, dict(urllib.parse.parse_qsl(query)), **extra)
        if response.status_code != 200:
            raise SystemExit(
                f"{label}: in-process GET {path} answered {response.status_code} {response.content[:300]!r}"
            )
        return [query["sql"] for query in captured.captured_queries]

    # A token not used for over a minute: its first request writes last_used_at / last_used_ip.
    AccessToken.objects.filter(pk=token_id).update(last_used_at=None, last_used_ip=None)
    first_use = len(one(case_named("bearer")))
    counts = {}
    for case in CASES:
        one(case)
        samples = [one(case) for _ in range(repeats)]
        lengths = [len(sql) for sql in samples]
        counts[case[0]] = (min(lengths), max(lengths), samples[-1])
    return counts, first_use


# --- profile -----------------------------------------------------------------


def case_named(label):
    return next(case for case in CASES if case[0] == label)


def wsgi_environ(case, credentials):
    """The WSGI environ of one request of ``case``, as gunicorn hands it to Django."""
    path, query = path_of(case, credentials), query_of(case)
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": canonical_query(query) if query else "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": HOST,
        "HTTP_HOST": "localhost",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }
    for name, value in request_headers(case, credentials, query).items():
        environ[f"HTTP_{name.upper().replace('-', '_')}"] = value
    return environ


def profile(credentials, requests, profile_case, profile_out=None):
    """CPU time per request of each case in-process through Django's WSGI handler, and a cProfile of one."""
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()

    def one(case):
        status = []
        chunks = application(wsgi_environ(case, credentials), lambda code, _headers: status.append(code))
        b"".join(chunks)
        chunks.close()
        if not status[0].startswith("200"):
            raise SystemExit(f"{case[0]}: in-process request answered {status[0]}")

    print(f"Per request in-process (WSGI handler, {requests} requests per case, after 50 unmeasured):")
    for case in CASES:
        for _ in range(50):
            one(case)
        started, wall = time.process_time(), time.perf_counter()
        for _ in range(requests):
            one(case)
        cpu, wall = time.process_time() - started, time.perf_counter() - wall
        print(f"  {case[0]:<10} CPU {cpu / requests * 1000:6.3f} ms   wall {wall / requests * 1000:6.3f} ms")
    profiler = cProfile.Profile()
    case = case_named(profile_case)
    profiler.enable()
    for _ in range(requests):
        one(case)
    profiler.disable()
    if profile_out:
        profiler.dump_stats(profile_out)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(25)
    print(f"\ncProfile of {requests} {profile_case} requests, by own time:")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumtime").print_stats(40)
    print(f"\ncProfile of {requests} {profile_case} requests, by cumulative time:")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))


# --- report ------------------------------------------------------------------


def spread(values):
    return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f}"


def report(args, rates, failures, query_counts, first_use):
    """Print the table and the targets; returns whether every target passed."""
    base_queries = query_counts["bare"][1]
    print()
    header = (
        f"{'case':<10} {'request':<34} {'req/s':>9} {'/ bare':>7} {'errors':>7} {'SQL/request':>12} {'auth SQL':>9}"
    )
    print(header)
    print("-" * len(header))
    for case_label, path, query, _scheme in CASES:
        low, high, _sql = query_counts[case_label]
        queries = str(high) if low == high else f"{low}-{high}"
        rate = statistics.median(rates[case_label])
        ratio = rate / statistics.median(rates["bare"]) if rates["bare"] else 0.0
        request = f"GET {path}" + (f"?{query}" if query else "")
        auth = high - query_counts["one-query"][1] if case_label in (*TOKEN_CASES, "drf") else ""
        print(
            f"{case_label:<10} {request:<34} {rate:>9.1f} {ratio:>7.2f} "
            f"{failures[case_label][0]:>7} {queries:>12} {auth!s:>9}"
        )
    print("(req/s: the median over the rounds; auth SQL: the queries beyond one-query's)")
    print()
    print("Ratios within each round (min / median / max):")
    ratios = {}
    for case_label, reference, _minimum in TARGETS:
        ratios[case_label, reference] = [
            rate / base if base else 0.0 for rate, base in zip(rates[case_label], rates[reference], strict=True)
        ]
        print(f"  {case_label:<7} / {reference:<10} {spread(ratios[case_label, reference])}")
    print()
    print(f"SQL of an authenticated request ({query_counts['bearer'][1]} queries):")
    for sql in query_counts["bearer"][2]:
        print(f"  {sql[:300]}")
    print(f"The first request with a token in a minute (or from a new IP) also writes last_used: {first_use} queries.")
    print()

    ok = True
    for case_label, reference, minimum in TARGETS:
        median = statistics.median(ratios[case_label, reference])
        passed = median >= minimum
        ok &= passed
        print(
            f"{'PASS' if passed else 'FAIL'}  {case_label}: {median:.2f} of {reference}'s throughput "
            f"(median of the rounds; target >= {minimum})"
        )
    for case_label in TOKEN_CASES:
        auth_queries = query_counts[case_label][1] - base_queries
        passed = auth_queries <= MAX_AUTH_QUERIES
        ok &= passed
        print(
            f"{'PASS' if passed else 'FAIL'}  {case_label}: {auth_queries} SQL queries spent on authentication "
            f"per request (target <= {MAX_AUTH_QUERIES})"
        )
    for case_label, (errors, first_error) in failures.items():
        if errors:
            ok = False
            print(f"FAIL  {case_label}: {errors} requests failed, first: {first_error}")
    print()
    print("RESULT: PASS" if ok else "RESULT: FAIL")
    return ok


def main():
    args = parse_args()
    # The panel's settings plus DRF and the yardstick views, here and in the server (which inherits the environment).
    os.environ["DJANGO_SETTINGS_MODULE"] = SETTINGS_MODULE
    tmp_dir = tempfile.mkdtemp(prefix="panel-bench-api-")
    test_name = prepare_environment(tmp_dir, "api_auth")
    # The gunicorn server it starts reads the benchmark database from DATABASE_URL.
    parts = urllib.parse.urlsplit(os.environ.get("DATABASE_URL", ""))
    database_url = urllib.parse.urlunsplit(parts._replace(path=f"/{test_name}")) if test_name else None

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    real_name = connection.settings_dict["NAME"]
    server = None
    created = False
    try:
        create_database(tmp_dir, test_name, sqlite_file="panel.sqlite3")
        created = True
        credentials = seed()
        label = vendor_label()
        cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        if args.profile:
            print(f"Panel API authentication profile: {label}, cache {cache}")
            profile(credentials, args.profile, args.profile_case, args.profile_out)
            return 0
        connection.close()  # no connection is shared with the forked clients
        port = free_port()
        server = start_server(
            port=port, workers=args.workers, database_url=database_url, log_path=Path(tmp_dir) / "gunicorn.log"
        )
        check_cases(port, credentials)
        print(
            f"Panel API authentication benchmark: {label}, cache {cache}, "
            f"CONN_MAX_AGE={settings.DATABASES['default']['CONN_MAX_AGE']}; gunicorn {args.workers} sync workers "
            f"on {HOST}:{port}; {args.clients} client processes; {args.rounds} rounds of "
            f"{args.duration:g} s per case, in turns of {args.slice:g} s, after {args.warmup:g} s of warm-up"
        )
        rates, failures = measure_all(args, port, credentials)
        for round_number in range(args.rounds):
            line = "  ".join(f"{label} {values[round_number]:.0f}" for label, values in rates.items())
            print(f"  round {round_number + 1} (req/s): {line}")
        query_counts, first_use = count_queries(credentials, args.queries)
        return 0 if report(args, rates, failures, query_counts, first_use) else 1
    finally:
        if server is not None:
            stop_server(server)
        if created:
            connection.close()
            destroy_database(real_name)
        connection.settings_dict["NAME"] = settings.DATABASES["default"]["NAME"] = real_name
        shutil.rmtree(tmp_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
