"""Benchmark of a gunicorn worker's memory: resident set size before and after 10,000 mixed requests.

Run with ``.venv/bin/python bench/worker_memory.py`` (``make bench`` runs it). It
never touches the developer's database: like bench/api_auth.py it creates a
migrated test database (``panel.sqlite3`` in a temporary folder, or
``test_<name>_worker_memory`` on the server DATABASE_URL points at), seeds it,
and drops it at the end.

It starts gunicorn as ``panel serve`` does, with panel/gunicorn_conf.py (the
production configuration: sync workers, DEBUG off), on a free port, with 2
workers (``--workers``) and worker recycling off (``--max-requests 0``), so that
what it measures is one worker's lifetime and not gunicorn replacing it. After a
warm-up (every kind of request, several times, in every worker) it reads each
worker's ``VmRSS`` from /proc/<pid>/status, sends ``--requests`` requests
(default 10,000) from 4 client threads, each logged in with its own session, in
a fixed mix: the login page, the user list (pages, sizes, a search), the audit
log (and a filter), a tokens page, the account page, a Bearer ``GET
/api/user/info``, a 404, an API call with no credentials (401) and a login
(POST, with its Argon2id hash) every 50 requests; then reads ``VmRSS`` again.
It prints start, end and growth per worker, and fails if a worker's RSS ends
above MAX_WORKER_RSS_MB, if a worker was replaced, or if an answer was not the
expected one. See bench/README.md.
"""

import argparse
import http.client
import http.cookies
import itertools
import os
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchdb import create_database, destroy_database, prepare_environment, vendor_label  # noqa: E402  (this folder)
from benchserver import HOST, free_port, start_gunicorn, stop_server  # noqa: E402

MAX_WORKER_RSS_MB = 100  # issue 18: steady worker RSS at most 100 MB after 10,000 requests
ADMIN_USERNAME = "bench-admin"
ADMIN_PASSWORD = "Bench-pass-42"
USERS = 300
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')

# One cycle of the mix: (label, method, path ({admin}: the admin's user ID), expected status). 50 requests.
MIX = (
    *[("login page", "GET", "/login/", 200)] * 4,
    *[("user list", "GET", "/users/", 200)] * 8,
    *[("user list page 2", "GET", "/users/?page=2", 200)] * 3,
    *[("user list 100", "GET", "/users/?size=100", 200)] * 2,
    *[("user search", "GET", "/users/?q=user01", 200)] * 3,
    *[("audit log", "GET", "/audit/", 200)] * 6,
    *[("audit filter", "GET", "/audit/?action=user.create", 200)] * 2,
    *[("tokens page", "GET", "/users/{admin}/tokens/", 200)] * 5,
    *[("account page", "GET", "/account/", 200)] * 3,
    *[("bearer api", "GET", "/api/user/info", 200)] * 8,
    *[("not found", "GET", "/no-such-page/", 404)] * 2,
    *[("refused api", "GET", "/api/users", 401)] * 3,
    ("login", "POST", "/login/", 302),
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--requests", type=int, default=10_000, help="measured requests (default 10,000)")
    parser.add_argument("--warmup", type=int, default=300, help="requests before the first reading (default 300)")
    parser.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    parser.add_argument("--steps", type=int, default=5, help="read the RSS this many times along the way (default 5)")
    args = parser.parse_args()
    if min(args.workers, args.requests, args.warmup, args.clients, args.steps) < 1 or args.steps > args.requests:
        parser.error("--workers, --requests, --warmup, --clients and --steps must be at least 1, --steps <= --requests")
    return args


# --- the database and the server -------------------------------------------


def seed():
    """The admin (a superuser with a password), USERS users in 3 companies, audit events and 5 tokens."""
    from django.contrib.auth.hashers import make_password

    from accounts import services
    from accounts.models import User
    from core.audit import Origin
    from organisation.models import Company
    from tokens.credentials import bearer_string
    from tokens.services import token_create

    origin = Origin.command("bench")
    admin = User.objects.create(
        username=ADMIN_USERNAME, email="admin@example.test", password=make_password(ADMIN_PASSWORD), is_superuser=True
    )
    root = Company.objects.create(name="company0")
    companies = [root, Company.objects.create(name="company1", parent=root), Company.objects.create(name="company2")]
    User.objects.bulk_create(
        User(username=f"user{n:04d}", email=f"user{n:04d}@example.test", company=companies[n % 3]) for n in range(USERS)
    )
    for n in range(40):  # through the service, so that the audit log has events to list
        services.user_create(
            origin=origin, username=f"made{n:02d}", email=f"made{n:02d}@example.test", password="Made-pass-42"
        )
    tokens = [token_create(origin=origin, user=admin, long_term=True, name=f"bench{n}") for n in range(5)]
    token, secret = tokens[0]
    return {"admin": admin.pk, "bearer": bearer_string(token.pk, secret)}


def start_server(*, port, workers, database_url, log_path):
    """gunicorn with panel/gunicorn_conf.py, as ``panel serve`` runs it, on ``port``, recycling off."""
    return start_gunicorn(
        ("--config", "python:panel.gunicorn_conf", "--max-requests", "0"),
        port=port,
        workers=workers,
        database_url=database_url,
        log_path=log_path,
        ready=lambda process: (
            request(port, "GET", "/api/health")[0] == 200 and len(worker_pids(process.pid)) == workers
        ),
    )


def worker_pids(master):
    """The gunicorn master's children (its workers), by PID."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def rss_mb(pid):
    """A process's resident set size (VmRSS), in MB (10^6 bytes, as the target is written)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024 / 1e6
    raise SystemExit(f"no VmRSS for {pid}")


# --- the clients -------------------------------------------------------------


def request(port, method, path, *, headers=None, body=None):
    """(status, body, the response's Set-Cookie values as a dict); one connection per request, as sync workers do."""
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        cookies = http.cookies.SimpleCookie()
        for value in response.headers.get_all("Set-Cookie") or ():
            cookies.load(value)
        return response.status, response.read(), {name: morsel.value for name, morsel in cookies.items()}
    finally:
        conn.close()


class Browser:
    """One client: its cookies, logged in as the admin through the login form."""

    def __init__(self, port, seeded):
        self.port, self.seeded, self.cookies = port, seeded, {}

    def send(self, method, path, *, headers=None, body=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        status, content, cookies = request(self.port, method, path, headers=headers, body=body)
        self.cookies.update(cookies)
        return status, content

    def log_in(self):
        self.cookies = {}  # a new browser: a logged-in one is sent on from the login page
        status, page = self.send("GET", "/login/")
        token = CSRF_FIELD.search(page)
        if status != 200 or not token:
            raise SystemExit(f"the login page answered {status} without a CSRF token")
        form = {"csrfmiddlewaretoken": token.group(1).decode(), "username": ADMIN_USERNAME, "password": ADMIN_PASSWORD}
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://{HOST}:{self.port}/login/"}
        return self.send("POST", "/login/", headers=headers, body=urllib.parse.urlencode(form))[0]

    def one(self, label, method, path, expected):
        """One request of the mix; the unexpected answer as a string, or None."""
        if method == "POST":
            status = self.log_in()
        elif label == "bearer api":
            status = request(self.port, method, path, headers={"Authorization": f"Bearer {self.seeded['bearer']}"})[0]
        elif label in ("login page", "refused api"):
            status = request(self.port, method, path)[0]  # no cookies: a visitor, a script without credentials
        else:
            status = self.send(method, path.format(admin=self.seeded["admin"]))[0]
        return None if status == expected else f"{label}: {status} (expected {expected})"


def run_mix(port, seeded, *, count, clients, times=None):
    """``count`` requests of MIX from ``clients`` threads; returns (seconds, unexpected answers).

    ``times``, a dict, gets each kind's response times (ms) appended under its label.
    """
    cases = itertools.islice(itertools.cycle(MIX), count)
    lock, problems = threading.Lock(), []
    times = {} if times is None else times

    def client():
        browser = Browser(port, seeded)
        if browser.log_in() != 302:
            problems.append("a client could not log in")
            return
        while True:
            with lock:
                case = next(cases, None)
            if case is None:
                return
            started = time.perf_counter()
            problem = browser.one(*case)
            times.setdefault(case[0], []).append((time.perf_counter() - started) * 1000)
            if problem:
                problems.append(problem)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, problems


# --- main --------------------------------------------------------------------


def report(args, pids, readings, seconds, problems, replaced, times):
    rate = args.requests / seconds
    print(f"  {args.requests:,} requests in {seconds:.1f} s ({rate:.0f} req/s), {args.clients} client threads")
    print("  median ms: " + ", ".join(f"{label} {statistics.median(values):.1f}" for label, values in times.items()))
    print("  RSS (MB) after " + " / ".join(f"{done:,}" for done, _rss in readings) + " requests:")
    for pid in pids:
        curve = " / ".join(f"{rss[pid]:.1f}" for _done, rss in readings)
        print(f"    worker {pid}: {curve}   ({readings[-1][1][pid] - readings[0][1][pid]:+.1f} MB)")
    worst = max(readings[-1][1].values())
    print()
    checks = [
        (worst <= MAX_WORKER_RSS_MB, f"largest worker RSS at the end: {worst:.1f} MB (target <= {MAX_WORKER_RSS_MB})"),
        (not replaced, "no worker was replaced during the run" if not replaced else f"workers replaced: {replaced}"),
        (not problems, f"unexpected answers: {len(problems)}" + (f" ({'; '.join(problems[:3])})" if problems else "")),
    ]
    ok = True
    for passed, text in checks:
        ok &= passed
        print(f"{'PASS' if passed else 'FAIL'}  {text}")
    print()
    print("RESULT: PASS" if ok else "RESULT: FAIL")
    return ok


def main():
    args = parse_args()
    tmp_dir = tempfile.mkdtemp(prefix="panel-bench-memory-")
    test_name = prepare_environment(tmp_dir, "worker_memory")
    # The server reads the benchmark database from DATABASE_URL (SQLite: panel.sqlite3 in PANEL_VAR_DIR).
    parts = urllib.parse.urlsplit(os.environ.get("DATABASE_URL", ""))
    database_url = urllib.parse.urlunsplit(parts._replace(path=f"/{test_name}")) if test_name else None

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    # The seed's notification emails stay in memory, not on the report (the server's go to its log).
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    real_name = connection.settings_dict["NAME"]
    server, created = None, False
    try:
        create_database(tmp_dir, test_name, sqlite_file="panel.sqlite3")
        created = True
        seeded = seed()
        connection.close()
        port = free_port()
        server = start_server(
            port=port, workers=args.workers, database_url=database_url, log_path=Path(tmp_dir) / "gunicorn.log"
        )
        pids = worker_pids(server.pid)
        cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
        print(
            f"Panel worker memory benchmark: {vendor_label()}, cache {cache}; gunicorn (panel/gunicorn_conf.py) with "
            f"{args.workers} sync workers, --max-requests 0, DEBUG off; "
            f"{len(MIX)} requests of {len(set(MIX))} kinds in turn"
        )
        _seconds, problems = run_mix(port, seeded, count=args.warmup, clients=args.clients)
        if problems:
            raise SystemExit(f"warm-up: {problems[:5]}")
        readings = [(0, {pid: rss_mb(pid) for pid in pids})]
        seconds, problems, times = 0.0, [], {}
        for step in range(1, args.steps + 1):  # the RSS after each step: growth, or a plateau
            count = args.requests * step // args.steps - readings[-1][0]
            step_seconds, step_problems = run_mix(port, seeded, count=count, clients=args.clients, times=times)
            seconds, problems = seconds + step_seconds, problems + step_problems
            alive = set(worker_pids(server.pid)) & set(pids)
            readings.append((readings[-1][0] + count, {pid: rss_mb(pid) if pid in alive else 0.0 for pid in pids}))
        replaced = sorted(set(worker_pids(server.pid)) ^ set(pids))
        return 0 if report(args, pids, readings, seconds, problems, replaced, times) else 1
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
