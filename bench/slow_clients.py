"""Slow clients against the production recipe: ``panel serve`` (gunicorn) behind nginx (deploy/nginx.conf).

Run with ``.venv/bin/python bench/slow_clients.py`` (``make bench`` runs it too). It
migrates a new SQLite database in a temporary folder, starts ``panel serve``
(gunicorn with panel/gunicorn_conf.py, 2 sync workers) on a free port of 127.0.0.1,
and Debian's nginx with deploy/nginx.conf itself, only its paths, ports and
certificate (made here, self-signed) replaced, unprivileged and in the same
temporary folder (deploy/recipe.py, shared with the wheel's smoke test).

Then it opens slow clients, each sending a partial request header and one more
byte a second, and meanwhile asks for the login page:

- before: straight to gunicorn, as if it faced the clients itself; the sync
  workers wait on the slow clients and the page does not answer (printed, not a target);
- after: through nginx, which holds the slow clients and never passes them on.

Targets, through nginx with every slow client still connected: every request
answers 200 and the median stays under MAX_MEDIAN_MS. A login form posted through
nginx must pass Django's CSRF check too (the proxy keeps the port in Host). The
exit status is 1 if a target fails; the run stops by itself after --timeout
seconds and stops its servers on any exit. See bench/README.md.
"""

import argparse
import contextlib
import functools
import http.cookies
import os
import re
import resource
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from core.catalogue import CATALOGUE  # noqa: E402
from deploy.recipe import HOST, SERVER_VARIABLES, TLS, bounded, free_port, get, start_nginx, start_panel, stop  # noqa: E402

PANEL = [sys.executable, "-m", "panel"]
WORKERS = 2
MAX_MEDIAN_MS = 250
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000, help="slow clients (default 1000)")
    parser.add_argument("--requests", type=int, default=50, help="login pages asked for through nginx (default 50)")
    parser.add_argument("--probes", type=int, default=5, help="login pages asked of gunicorn alone (default 5)")
    parser.add_argument("--probe-timeout", type=float, default=3, help="seconds each of those may take (default 3)")
    parser.add_argument("--timeout", type=int, default=180, help="the whole run stops after this (default 180 s)")
    args = parser.parse_args()
    if min(args.connections, args.requests, args.probes, args.timeout) < 1 or args.probe_timeout <= 0:
        parser.error("every number must be at least 1")
    return args


# --- the servers ---------------------------------------------------------------


def panel_environment(var_dir):
    """This environment without any Panel or gunicorn setting, then the benchmark's own."""
    env = {name: raw for name, raw in os.environ.items() if name not in {*CATALOGUE, *SERVER_VARIABLES}}
    env.update(
        PANEL_VAR_DIR=str(var_dir),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PANEL_BEHIND_TLS_PROXY="true",  # deploy/nginx.conf sets X-Forwarded-Proto
        PANEL_LOG_LEVEL="WARNING",
    )
    return env


def start_server(env, port, log_path):
    subprocess.run([*PANEL, "migrate", "--no-input"], cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    return start_panel(PANEL, port=port, workers=WORKERS, env=env, log_path=log_path)


# --- the clients ---------------------------------------------------------------


def timed_login_page(port, *, timeout, tls=False):
    """Milliseconds the login page took, or None if it failed or did not answer 200 in time."""
    start_time = time.perf_counter()
    try:
        status, _body, _headers = get(port, "/login/", timeout=timeout, tls=tls)
    except OSError:
        return None
    return (time.perf_counter() - start_time) * 1000 if status == 200 else None


def slow_starts(port, scheme):
    """What the slow clients send at once; then they add one byte a second.

    Half never end their header. Half never end their body (nginx reads a body whole before gunicorn
    sees it: proxy_request_buffering); they carry what Django's CSRF check asks for before it reads a
    body (a well-formed token cookie and the page's own Origin), so that the panel does read it.
    """
    host = f"{HOST}:{port}"
    return (
        f"GET /login/ HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode(),
        f"POST /login/ HTTP/1.1\r\nHost: {host}\r\nOrigin: {scheme}://{host}\r\nCookie: csrftoken={'a' * 32}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nusername=".encode(),
    )


class SlowClients:
    """Connections that send part of a request, then one more byte a second, and never finish it."""

    def __init__(self, port, count, *, tls):
        starts = slow_starts(port, "https" if tls else "http")
        self.sockets = []
        for n in range(count):
            sock = socket.create_connection((HOST, port), timeout=10)
            if tls:
                sock = TLS.wrap_socket(sock)
            sock.sendall(starts[n % 2])
            self.sockets.append(sock)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._drip, daemon=True)
        self.thread.start()

    def _drip(self):
        while not self.stopping.wait(1):
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # closed by the server: still_open() counts it
                    sock.send(b"a")

    def still_open(self):
        """How many the server has neither closed nor answered."""
        self.stopping.set()
        self.thread.join()
        count = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                sock.recv(1)
            except (BlockingIOError, ssl.SSLWantReadError):
                count += 1
            except OSError:
                pass
        return count

    def close(self):
        self.stopping.set()
        for sock in self.sockets:
            sock.close()


def row(label, samples, *, timeout=None):
    answered = [sample for sample in samples if sample is not None]
    line = f"{label:<44} {len(answered):>4}/{len(samples):<4}"
    if answered:
        line += f" {statistics.median(answered):9.1f} {max(answered):9.1f}"
    elif timeout:
        line += f"   none answered within {timeout:g} s"
    print(line)
    return answered


def csrf_login_status(port):
    """Status of a wrong-password login posted through nginx with the page's CSRF cookie, token and Origin."""
    _status, body, headers = get(port, "/login/", timeout=10, tls=True)
    cookies = http.cookies.SimpleCookie()
    for header in headers.get_all("Set-Cookie") or []:
        cookies.load(header)
    form = urllib.parse.urlencode(
        {"username": "nobody", "password": "Wrong-pass-1", "csrfmiddlewaretoken": CSRF_INPUT.search(body.decode())[1]}
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(f"{name}={morsel.value}" for name, morsel in cookies.items()),
        "Origin": f"https://{HOST}:{port}",
    }
    return get(port, "/login/", timeout=10, tls=True, method="POST", body=form, headers=headers)[0]


# --- the run -------------------------------------------------------------------


def raise_open_file_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        if hard != resource.RLIM_INFINITY and hard < needed:
            raise SystemExit(f"{needed} open files are needed, and the hard limit is {hard}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def measure(args, gunicorn_port, https_port):
    """Prints the table; returns (the times answered through nginx under load, slow clients still open)."""
    n = args.connections
    print(f"{'login page (GET /login/)':<44} {'answered':>9} {'median ms':>9} {'max ms':>9}")
    row("gunicorn alone", [timed_login_page(gunicorn_port, timeout=10) for _ in range(args.probes)])
    slow = SlowClients(gunicorn_port, n, tls=False)
    try:
        probe = functools.partial(timed_login_page, gunicorn_port, timeout=args.probe_timeout)
        with ThreadPoolExecutor(args.probes) as pool:  # at once: the run waits one probe timeout, not several
            samples = [future.result() for future in [pool.submit(probe) for _ in range(args.probes)]]
        row(f"gunicorn alone, {n} slow clients (before)", samples, timeout=args.probe_timeout)
    finally:
        slow.close()
    row("nginx + gunicorn", [timed_login_page(https_port, timeout=10, tls=True) for _ in range(args.requests)])
    started = time.monotonic()
    slow = SlowClients(https_port, n, tls=True)
    opened = time.monotonic() - started
    try:
        samples = [timed_login_page(https_port, timeout=10, tls=True) for _ in range(args.requests)]
        still_open = slow.still_open()
    finally:
        slow.close()
    answered = row(f"nginx + gunicorn, {n} slow clients (after)", samples)
    print(f"({n} slow TLS connections opened in {opened:.1f} s; {still_open} still open after the last request)")
    return answered, still_open


def run(args, folder):
    var_dir = folder / "var"
    nginx_dir = folder / "nginx"
    nginx_dir.mkdir()
    ports = {"http_port": free_port(), "https_port": free_port(), "panel_port": free_port()}
    servers = []
    try:
        servers.append(start_server(panel_environment(var_dir), ports["panel_port"], folder / "panel.log"))
        servers.append(start_nginx(nginx_dir, ports))
        print(
            f"Slow clients: panel serve (gunicorn, {WORKERS} sync workers) behind nginx "
            f"(deploy/nginx.conf), {args.connections} slow clients\n"
        )
        answered, still_open = measure(args, ports["panel_port"], ports["https_port"])
        csrf_status = csrf_login_status(ports["https_port"])
        probe_status = get(ports["http_port"], "/readyz", timeout=10)[0]
    finally:
        for server in reversed(servers):
            stop(server)
    median = statistics.median(answered) if answered else float("inf")
    checks = [
        (len(answered) == args.requests, f"through nginx {len(answered)} of {args.requests} requests answered 200"),
        (median <= MAX_MEDIAN_MS, f"through nginx the median was {median:.1f} ms (target <= {MAX_MEDIAN_MS} ms)"),
        (still_open == args.connections, f"{still_open} of {args.connections} slow clients held open meanwhile"),
        (csrf_status == 200, f"a login form posted through nginx answered {csrf_status} (403: CSRF failed)"),
        (probe_status == 200, f"/readyz over plain HTTP (port 80's server) answered {probe_status}"),
    ]
    print()
    for passed, text in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {text}")
    ok = all(passed for passed, _text in checks)
    print(f"\nRESULT: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


def main():
    args = parse_args()
    bounded(args.timeout, SystemExit("the benchmark ran out of time (--timeout)"))
    raise_open_file_limit(2 * args.connections + 256)
    folder = Path(tempfile.mkdtemp(prefix="panel-bench-slow-"))
    try:
        return run(args, folder)
    finally:
        signal.alarm(0)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
