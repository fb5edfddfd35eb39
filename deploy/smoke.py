"""The wheel, installed as README.md's "Running in production" says, served behind a real nginx.

Run with ``.venv/bin/python deploy/smoke.py`` (``make smoke``; CI runs it). In a temporary folder,
outside the checkout, it:

1. builds the wheel (``pip wheel --no-deps``) and checks that it holds the templates, the static
   files, the migrations, the ``panel`` command and the LICENSE;
2. makes a fresh virtual environment and installs requirements.lock (``--require-hashes``), then the wheel;
3. from another folder, with nothing but environment variables (a new PostgreSQL database, Redis,
   HTTPS behind a TLS proxy, hashed static files), runs ``panel --version``, ``panel migrate``,
   ``panel collectstatic``, ``panel check --deploy --fail-level WARNING`` (must be clean) and
   ``panel ensure_admin`` (keeping the password it prints);
4. starts ``panel serve`` on a free port and Debian's nginx with deploy/nginx.conf (deploy/recipe.py:
   a self-signed certificate, free ports other than 443, ``nginx -t`` first);
5. over HTTPS through nginx: the login page, a static file under its hashed name, a login with the
   form's CSRF token that lands on a page showing the user logged in and the version, /api/health.

It prints one line per step with the seconds it took, and ``RESULT: PASS`` or the first failure
(exit status 1). Servers, the database and the folder are removed on any exit; the run stops by
itself after --timeout seconds.
"""

import argparse
import base64
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from core.catalogue import CATALOGUE  # noqa: E402
from deploy.recipe import HOST, SERVER_VARIABLES, TLS, bounded, free_port, get, start_nginx, start_panel, stop  # noqa: E402

WHEEL_MUST_HOLD = [
    "panel/templates/base.html",
    "accounts/templates/accounts/user_list.html",
    "core/templates/core/audit_log.html",
    "panel/static/css/panel.css",
    "panel/static/vendor/htmx.min.js",
    "accounts/migrations/0001_initial.py",
    "tokens/migrations/0001_initial.py",
    "panel/gunicorn_conf.py",
    # The compiled translations: the installed panel never runs compilemessages.
    "panel/locale/zh_Hans/LC_MESSAGES/django.mo",
    "panel/locale/zh_Hant/LC_MESSAGES/django.mo",
    "panel/locale/zh_Hans/LC_MESSAGES/djangojs.mo",
    "accounts/locale/zh_Hant/LC_MESSAGES/django.mo",
]
ADMIN_PASSWORD = re.compile(r"Password \(shown once, keep it safe\): (\S+)")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
STYLESHEET = re.compile(r'<link rel="stylesheet" href="/static/([^"]+)">')


class Failed(Exception):
    pass


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres",
        default=os.environ.get("SMOKE_POSTGRES", "postgres://postgres@127.0.0.1:5432"),
        help="a PostgreSQL server where the run may create and drop a database (default: %(default)s)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/15"),
        help="the Redis database the panel uses (default: %(default)s)",
    )
    parser.add_argument("--timeout", type=int, default=600, help="the whole run stops after this (default 600 s)")
    return parser.parse_args()


class Steps:
    """Prints each step with its time; the first failed check stops the run."""

    def __init__(self):
        self.started = time.monotonic()

    def __call__(self, text, function, *args, **kwargs):
        began = time.monotonic()
        result = function(*args, **kwargs)
        print(f"PASS  {text} ({time.monotonic() - began:.1f} s)", flush=True)
        return result


def check(condition, text):
    if not condition:
        raise Failed(text)


def run(command, *, cwd, env=None, timeout=300):
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise Failed(f"{' '.join(map(str, command))} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout


# --- build and install ----------------------------------------------------------


def build_wheel(folder):
    run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", folder, REPO_ROOT], cwd=folder)
    (wheel,) = folder.glob("panel-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(name).decode() for name in names if name.endswith("entry_points.txt"))
    missing = [name for name in WHEEL_MUST_HOLD if name not in names]
    check(not missing, f"the wheel lacks {missing}")
    check("panel = panel.cli:main" in entry_points, f"the wheel has no panel command:\n{entry_points}")
    check(any(name.endswith(".dist-info/licenses/LICENSE") for name in names), "the wheel has no LICENSE")
    check(not any(name.startswith(("tests/", "bench/", "deploy/")) for name in names), "the wheel holds tests or tools")
    return wheel


def install(wheel, venv):
    run([sys.executable, "-m", "venv", venv], cwd=venv.parent)
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, "--require-hashes", "-r", REPO_ROOT / "requirements.lock"], cwd=venv.parent)
    run([*pip, "--no-deps", wheel], cwd=venv.parent)
    return venv / "bin" / "panel"


# --- the database ---------------------------------------------------------------


def create_database(server, name):
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')  # a name made here, never input


def drop_database(server, name):
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def production_environment(database_url, redis_url, var_dir):
    """README.md's production variables, and none of this environment's Panel or gunicorn settings."""
    skipped = {*CATALOGUE, *SERVER_VARIABLES, "PYTHONPATH", "VIRTUAL_ENV"}
    env = {name: raw for name, raw in os.environ.items() if name not in skipped}
    env.update(
        SECRET_KEY=secrets.token_urlsafe(48),
        PANEL_ENCRYPTION_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),  # a Fernet key
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        ALLOWED_HOSTS=HOST,
        PANEL_HTTPS="true",
        PANEL_HSTS_PRELOAD="true",
        PANEL_BEHIND_TLS_PROXY="true",
        PANEL_TRUSTED_PROXIES=HOST,
        PANEL_MANIFEST_STATIC="true",
        PANEL_VAR_DIR=str(var_dir),
        PANEL_LOG_LEVEL="WARNING",
    )
    return env


# --- through nginx --------------------------------------------------------------


class Browser:
    """Cookies kept and redirects followed, over HTTPS to nginx on ``port``."""

    def __init__(self, port):
        self.origin = f"https://{HOST}:{port}"
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=TLS), urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def open(self, path, form=None):
        """(status, final URL, headers, body text)."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(self.origin + path, data=data, headers={"Origin": self.origin})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.url, response.headers, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.url, error.headers, error.read().decode(errors="replace")


def login_page(browser):
    status, _url, _headers, body = browser.open("/login/")
    check(status == 200, f"GET /login/ answered {status}")
    return body


def static_file(browser, login_body, var_dir):
    manifest = json.loads((var_dir / "static" / "staticfiles.json").read_text())["paths"]
    hashed = STYLESHEET.search(login_body)
    check(hashed and hashed[1] == manifest["css/panel.css"], f"the login page links {hashed} for css/panel.css")
    status, _url, headers, _body = browser.open(f"/static/{hashed[1]}")
    check(status == 200, f"GET /static/{hashed[1]} answered {status}")
    check("immutable" in headers.get("Cache-Control", ""), f"Cache-Control: {headers.get('Cache-Control')}")
    return hashed[1]


def log_in(browser, login_body, password, version):
    token = CSRF_INPUT.search(login_body)[1]
    form = {"username": "admin", "password": password, "csrfmiddlewaretoken": token}
    status, url, _headers, body = browser.open("/login/", form)
    check(status == 200, f"POST /login/ ended on {status} at {url}")
    check(not url.endswith("/login/"), f"the login stayed on {url}")
    check('<form method="post" action="/logout/">' in body and ">admin</a>" in body, f"{url} shows no one logged in")
    check(f"Panel {version}</footer>" in body, f"{url} shows no version {version} in its footer")
    return urllib.parse.urlsplit(url).path


def health(browser, version):
    status, _url, _headers, body = browser.open("/api/health")
    check(status == 200 and json.loads(body) == {"status": "ok", "version": version}, f"/api/health: {status} {body}")
    return body


# --- the run -------------------------------------------------------------------


def smoke(args, folder, step):
    (folder / "dist").mkdir()
    wheel = step("pip wheel: it holds templates, static files, migrations, LICENSE", build_wheel, folder / "dist")
    print(f"      {wheel.name}")
    panel = step("a fresh venv: requirements.lock (--require-hashes), then the wheel", install, wheel, folder / "venv")

    database = f"panel_smoke_{os.getpid()}"
    create_database(args.postgres, database)
    try:
        return served(args, folder, step, panel, f"{args.postgres}/{database}")
    finally:
        drop_database(args.postgres, database)


def served(args, folder, step, panel, database_url):
    workdir, var_dir = folder / "elsewhere", folder / "var"
    workdir.mkdir()
    env = production_environment(database_url, args.redis_url, var_dir)
    version = step("panel --version", run, [panel, "--version"], cwd=workdir, env=env).split()[-1]
    print(f"      panel {version}")
    step("panel migrate", run, [panel, "migrate", "--no-input"], cwd=workdir, env=env)
    step("panel collectstatic --no-input", run, [panel, "collectstatic", "--no-input"], cwd=workdir, env=env)
    report = step(
        "panel check --deploy --fail-level WARNING",
        run,
        [panel, "check", "--deploy", "--fail-level", "WARNING"],
        cwd=workdir,
        env=env,
    )
    check("System check identified no issues" in report, report)
    created = step("panel ensure_admin", run, [panel, "ensure_admin"], cwd=workdir, env=env)
    password = ADMIN_PASSWORD.search(created)[1]

    nginx_dir = folder / "nginx"
    nginx_dir.mkdir()
    ports = {"http_port": free_port(), "https_port": free_port(), "panel_port": free_port()}
    servers = []
    try:
        servers.append(
            step(
                f"panel serve on {HOST}:{ports['panel_port']} (2 workers)",
                start_panel,
                [panel],
                port=ports["panel_port"],
                workers=2,
                env=env,
                log_path=folder / "panel.log",
                cwd=workdir,
            )
        )
        servers.append(step(f"nginx -t, nginx on :{ports['https_port']} (TLS)", start_nginx, nginx_dir, ports))
        print(f"      {servers[-1].config_test.splitlines()[-1]}")
        through_nginx(ports, step, var_dir, password, version)
    finally:
        for server in reversed(servers):
            stop(server)


def through_nginx(ports, step, var_dir, password, version):
    status = get(ports["http_port"], "/login/", timeout=10)[0]
    check(status == 301, f"plain HTTP /login/ answered {status}, not a redirect to HTTPS")
    browser = Browser(ports["https_port"])
    body = step("GET /login/ through nginx: 200", login_page, browser)
    name = step("GET a static file by its hashed name: 200, immutable", static_file, browser, body, var_dir)
    print(f"      /static/{name}")
    landed = step("POST /login/ with the CSRF token: logged in", log_in, browser, body, password, version)
    print(f"      landed on {landed}, footer: Panel {version}")
    print(f"      /api/health: {step('GET /api/health: the version', health, browser, version)}")


def main():
    args = parse_args()
    bounded(args.timeout, Failed("the smoke test ran out of time (--timeout)"))
    folder = Path(tempfile.mkdtemp(prefix="panel-smoke-"))
    step = Steps()
    try:
        smoke(args, folder, step)
    except Failed as failure:
        print(f"FAIL  {failure}\n\nRESULT: FAIL")
        return 1
    finally:
        signal.alarm(0)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\nRESULT: PASS in {time.monotonic() - step.started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
