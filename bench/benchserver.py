"""The gunicorn server the HTTP benchmarks measure (api_auth.py, worker_memory.py): started, awaited, stopped."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start_gunicorn(options, *, port, workers, database_url, log_path, ready):
    """gunicorn with ``options`` and ``workers`` workers on ``port``, run from the checkout, its output in
    ``log_path``; returned once ``ready(process)`` holds (within a minute), else the run ends with its log.

    The environment is this process's, so the panel's variables pass through, but gunicorn's own
    (WEB_CONCURRENCY, GUNICORN_CMD_ARGS) do not: the benchmark says how many workers it measures.
    """
    env = {name: value for name, value in os.environ.items() if name not in ("WEB_CONCURRENCY", "GUNICORN_CMD_ARGS")}
    hosts = [host for host in env.get("ALLOWED_HOSTS", "").split(",") if host.strip()]
    env["ALLOWED_HOSTS"] = ",".join(dict.fromkeys([*hosts, "127.0.0.1", "localhost"]))
    if database_url:
        env["DATABASE_URL"] = database_url
    command = [
        *(sys.executable, "-m", "gunicorn", *options),
        *("--bind", f"{HOST}:{port}", "--workers", str(workers), "--log-level", "warning"),
    ]
    log = open(log_path, "wb")  # noqa: SIM115 (closed in stop_server)
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    process.log = log
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if ready(process):
                return process
        except OSError:
            pass
        time.sleep(0.1)
    stop_server(process)
    raise SystemExit(f"gunicorn did not start; its log:\n{Path(log_path).read_text(errors='replace')}")


def stop_server(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    process.log.close()
