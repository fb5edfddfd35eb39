"""Slow clients against the production recipe: gunicorn (deploy/gunicorn.conf.py) behind nginx (deploy/nginx.conf).

Run with ``.venv/bin/python bench/slow_clients.py`` (``make bench`` runs it too). It
migrates a new SQLite database in a temporary folder, starts gunicorn with
deploy/gunicorn.conf.py (2 sync workers) on a free port of 127.0.0.1, and Debian's
nginx with deploy/nginx.conf itself, only its paths, ports and certificate (made
here, self-signed) replaced, unprivileged and in the same temporary folder.

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
import ctypes
import functools
import http.client
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from core.catalogue import CATALOGUE  # noqa: E402

NGINX = "/usr/sbin/nginx"
HOST = "127.0.0.1"
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


def _stop_with_parent():
    """In the child: the kernel sends it SIGTERM if the benchmark dies, even by SIGKILL."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start(command, log_path, **popen):
    log = open(log_path, "wb")  # noqa: SIM115 (the child owns it; closed when the run ends)
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, stopped whole
        preexec_fn=_stop_with_parent,  # set before any thread starts
        **popen,
    )
    log.close()
    process.log_path = log_path
    return process


def stop(process):
    """SIGTERM to the process group, SIGKILL to whatever is left of it after 10 s."""
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def wait_until_answering(process, ask, what):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if ask() == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    log = Path(process.log_path).read_text(errors="replace")
    raise SystemExit(f"{what} did not start; its log:\n{log}")


def panel_environment(var_dir):
    """This environment without any Panel or gunicorn setting, then the benchmark's own."""
    skipped = {*CATALOGUE, "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "FORWARDED_ALLOW_IPS", "DJANGO_SETTINGS_MODULE"}
    env = {name: raw for name, raw in os.environ.items() if name not in skipped}
    env.update(
        PANEL_VAR_DIR=str(var_dir),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PANEL_BEHIND_TLS_PROXY="true",  # deploy/nginx.conf sets X-Forwarded-Proto
        PANEL_LOG_LEVEL="WARNING",
    )
    return env


def start_gunicorn(env, port, log_path):
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input"], cwd=REPO_ROOT, env=env, check=True, capture_output=True
    )
    command = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
    command += ["--bind", f"{HOST}:{port}", "--workers", str(WORKERS), "--log-level", "warning"]
    process = start(command, log_path, env=env)
    wait_until_answering(process, lambda: get(port, "/livez", timeout=2)[0], "gunicorn")
    return process


def write_certificate(folder):
    """A throwaway self-signed certificate, where deploy/nginx.conf expects Let's Encrypt's."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "panel.example.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (folder / "fullchain.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (folder / "privkey.pem").write_bytes(pem)


def nginx_config(folder, *, http_port, https_port, gunicorn_port):
    """deploy/nginx.conf with this run's paths and ports; each replaced text must be there."""
    text = (REPO_ROOT / "deploy" / "nginx.conf").read_text()
    replacements = {
        "user www-data;\n": "",  # it runs unprivileged: no user to switch to
        "/run/nginx.pid": f"{folder}/nginx.pid",
        "/var/log/nginx/": f"{folder}/",
        "/var/lib/nginx/": f"{folder}/",
        "/etc/letsencrypt/live/panel.example.com/": f"{folder}/",
        "listen 80;": f"listen {HOST}:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen {HOST}:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "server 127.0.0.1:8000;": f"server {HOST}:{gunicorn_port};",
    }
    for old, new in replacements.items():
        if old not in text:
            raise SystemExit(f"deploy/nginx.conf no longer has {old!r}: update bench/slow_clients.py")
        text = text.replace(old, new)
    return text


def start_nginx(folder, ports):
    """nginx from deploy/nginx.conf in ``folder``; as root, it runs as nobody, who then owns the folder."""
    write_certificate(folder)
    (folder / "nginx.conf").write_text(nginx_config(folder, **ports))
    run_as = {}
    if os.geteuid() == 0:
        run_as = {"user": "nobody", "group": "nogroup", "extra_groups": []}
        folder.parent.chmod(0o711)  # nobody may pass through to its own folder, and see nothing else
        for path in (folder, *folder.iterdir()):
            shutil.chown(path, "nobody", "nogroup")
    command = [NGINX, "-p", f"{folder}/", "-c", f"{folder}/nginx.conf", "-e", f"{folder}/error.log"]
    process = start([*command, "-g", "daemon off;"], folder / "nginx.out", **run_as)
    process.log_path = folder / "error.log"
    wait_until_answering(process, lambda: get(ports["https_port"], "/livez", timeout=2, tls=True)[0], "nginx")
    return process


# --- the clients ---------------------------------------------------------------

TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE  # the certificate was made a moment ago


def get(port, path, *, timeout, tls=False, method="GET", body=None, headers=None):
    """(status, body, response headers) of one request on a new connection."""
    if tls:
        connection = http.client.HTTPSConnection(HOST, port, timeout=timeout, context=TLS)
    else:
        connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read(), response.msg
    finally:
        connection.close()


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


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


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
    ports = {"http_port": free_port(), "https_port": free_port(), "gunicorn_port": free_port()}
    servers = []
    try:
        servers.append(start_gunicorn(panel_environment(var_dir), ports["gunicorn_port"], folder / "gunicorn.log"))
        servers.append(start_nginx(nginx_dir, ports))
        print(
            f"Slow clients: gunicorn (deploy/gunicorn.conf.py, {WORKERS} sync workers) behind nginx "
            f"(deploy/nginx.conf), {args.connections} slow clients\n"
        )
        answered, still_open = measure(args, ports["gunicorn_port"], ports["https_port"])
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


def _out_of_time(_signum, _frame):
    raise SystemExit("the benchmark ran out of time (--timeout)")


def main():
    args = parse_args()
    if not os.access(NGINX, os.X_OK):
        raise SystemExit(f"{NGINX} is missing: apt-get install nginx")
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.alarm(args.timeout)
    raise_open_file_limit(2 * args.connections + 256)
    folder = Path(tempfile.mkdtemp(prefix="panel-bench-slow-"))
    try:
        return run(args, folder)
    finally:
        signal.alarm(0)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
