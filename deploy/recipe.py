"""The production recipe run for real, on loopback, unprivileged, in a temporary folder.

``panel serve`` (gunicorn with panel/gunicorn_conf.py) and Debian's nginx with deploy/nginx.conf itself,
only its paths, ports and certificate (made here, self-signed) replaced. Shared by the slow-clients
benchmark (bench/slow_clients.py) and the wheel's smoke test (deploy/smoke.py). Every server is started
in its own process group, stopped whole, and stopped by the kernel if the script that started it dies.
"""

import ctypes
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
NGINX = "/usr/sbin/nginx"
HOST = "127.0.0.1"
# What a server must not inherit from the environment that runs the script: Panel's own variables
# are left out by the callers from core.catalogue.CATALOGUE, gunicorn's and Django's here.
SERVER_VARIABLES = {"WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "FORWARDED_ALLOW_IPS", "DJANGO_SETTINGS_MODULE"}


def bounded(seconds, out_of_time):
    """Start a run that needs nginx and stops by itself: refused without nginx, ``out_of_time`` (an exception)
    raised after ``seconds``, and a SIGTERM ends it through the callers' cleanup (their ``finally``)."""
    if not os.access(NGINX, os.X_OK):
        raise SystemExit(f"{NGINX} is missing: apt-get install nginx")

    def alarm(_signum, _frame):
        raise out_of_time

    signal.signal(signal.SIGALRM, alarm)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.alarm(seconds)


TLS = ssl.create_default_context()
TLS.check_hostname = False
TLS.verify_mode = ssl.CERT_NONE  # the certificate was made a moment ago


def _stop_with_parent():
    """In the child: the kernel sends it SIGTERM if the script dies, even by SIGKILL."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start(command, log_path, *, cwd=REPO_ROOT, **popen):
    log = open(log_path, "wb")  # noqa: SIM115 (the child owns it; closed when the run ends)
    process = subprocess.Popen(
        command,
        cwd=cwd,
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


def free_port():
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


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


def start_panel(command, *, port, workers, env, log_path, cwd=REPO_ROOT):
    """``command`` (the panel command: ``[python, "-m", "panel"]`` or an installed ``panel``) ``serve`` on ``port``."""
    serve = [*command, "serve", "--bind", f"{HOST}:{port}", "--workers", str(workers), "--log-level", "warning"]
    process = start(serve, log_path, cwd=cwd, env=env)
    wait_until_answering(process, lambda: get(port, "/livez", timeout=2)[0], "panel serve")
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


def nginx_config(folder, *, http_port, https_port, panel_port):
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
        "server 127.0.0.1:8000;": f"server {HOST}:{panel_port};",
    }
    for old, new in replacements.items():
        if old not in text:
            raise SystemExit(f"deploy/nginx.conf no longer has {old!r}: update deploy/recipe.py")
        text = text.replace(old, new)
    return text


def start_nginx(folder, ports):
    """nginx from deploy/nginx.conf in ``folder``, checked by ``nginx -t`` first (its report is kept as
    ``process.config_test``); as root, it runs as nobody, who then owns the folder."""
    write_certificate(folder)
    (folder / "nginx.conf").write_text(nginx_config(folder, **ports))
    run_as = {}
    if os.geteuid() == 0:
        run_as = {"user": "nobody", "group": "nogroup", "extra_groups": []}
        folder.parent.chmod(0o711)  # nobody may pass through to its own folder, and see nothing else
        for path in (folder, *folder.iterdir()):
            shutil.chown(path, "nobody", "nogroup")
    command = [NGINX, "-p", f"{folder}/", "-c", f"{folder}/nginx.conf", "-e", f"{folder}/error.log"]
    config_test = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30, check=False, **run_as)
    if config_test.returncode != 0:
        raise SystemExit(f"nginx -t failed:\n{config_test.stderr}")
    process = start([*command, "-g", "daemon off;"], folder / "nginx.out", **run_as)
    process.log_path = folder / "error.log"
    process.config_test = config_test.stderr.strip()
    wait_until_answering(process, lambda: get(ports["https_port"], "/livez", timeout=2, tls=True)[0], "nginx")
    return process
