"""The example clients in docs/clients, written from DESIGN.md alone, work against a running panel.

Each client runs as a subprocess (Python with this interpreter, Node.js with
``node``) against pytest-django's live server and signs its requests with
HMAC-SHA256; the tests check the JSON it prints, its exit status and the
database afterwards.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.models import User
from core.audit import Origin
from tests.factories import DEFAULT_PASSWORD, AdminFactory, UserFactory
from tokens.services import token_create

CLIENTS_DIR = Path(__file__).resolve().parents[2] / "docs" / "clients"
NODE = shutil.which("node")

CLIENTS = [
    pytest.param([sys.executable, str(CLIENTS_DIR / "panel_client.py")], id="python"),
    pytest.param(
        [NODE or "node", str(CLIENTS_DIR / "panel_client.mjs")],
        id="node",
        marks=pytest.mark.skipif(NODE is None, reason="Node.js is not installed (no `node` on PATH)"),
    ),
]


@pytest.fixture(params=CLIENTS)
def client_command(request):
    return request.param


@pytest.fixture
def api_admin(transactional_db):
    return AdminFactory(username="api-admin")


@pytest.fixture
def api_token(api_admin):
    """(token ID, secret) of a long-term token owned by an admin."""
    token, secret = token_create(origin=Origin.command("test"), user=api_admin, long_term=True, name="clients")
    return token.pk, secret


def run_client(command, live_server, token, *args, secret=None):
    token_id, real_secret = token
    argv = [*command, "--url", live_server.url, "--token-id", str(token_id), "--secret", secret or real_secret, *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def ok_json(result):
    assert result.returncode == 0, f"client failed ({result.returncode}): {result.stderr}"
    return json.loads(result.stdout) if result.stdout.strip() else None


@pytest.mark.parametrize("client_command", CLIENTS)
def test_client_reproduces_the_published_signing_vector(client_command):
    result = subprocess.run([*client_command, "--self-test"], capture_output=True, text=True, timeout=60, check=False)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "signing vector: OK" in result.stdout


def test_signed_get_with_escaped_search_and_pagination(client_command, live_server, api_token):
    wanted = UserFactory(username="ann", email="ann+ops/team@example.com")
    UserFactory(username="annabel", email="annabel@example.com")

    # Keys out of order; the search starts with a space (the panel strips it) and holds "+" and "/".
    result = run_client(
        client_command, live_server, api_token, "GET", "/api/users", "size=5", "search= ann+ops/team", "page=1"
    )

    page = ok_json(result)
    assert page["total"] == 1
    assert (page["page"], page["size"]) == (1, 5)
    assert [item["id"] for item in page["items"]] == [wanted.pk]
    assert page["items"][0]["email"] == "ann+ops/team@example.com"


def test_signed_get_with_a_space_inside_the_search(client_command, live_server, api_token):
    UserFactory(username="ann", email="ann+ops/team@example.com")

    result = run_client(client_command, live_server, api_token, "GET", "/api/users", "search=ann+ops team", "size=20")

    assert ok_json(result) == {"total": 0, "page": 1, "size": 20, "items": []}


def test_signed_get_pages_through_users(client_command, live_server, api_token):
    UserFactory.create_batch(4)  # 5 users with the admin

    result = run_client(client_command, live_server, api_token, "GET", "/api/users", "page=2", "size=2")

    page = ok_json(result)
    assert (page["total"], page["page"], page["size"], len(page["items"])) == (5, 2, 2, 2)


def test_signed_post_creates_a_user(client_command, live_server, api_token):
    body = json.dumps({"username": "created-by-script", "email": "script@example.com", "password": DEFAULT_PASSWORD})

    result = run_client(client_command, live_server, api_token, "POST", "/api/users", "--json", body)

    created = ok_json(result)
    assert created["username"] == "created-by-script"
    user = User.objects.get(username="created-by-script")
    assert (created["id"], user.email) == (user.pk, "script@example.com")
    assert user.check_password(DEFAULT_PASSWORD)


def test_signed_patch_changes_the_email(client_command, live_server, api_token):
    user = UserFactory(username="carol", email="carol@example.com")

    result = run_client(
        client_command,
        live_server,
        api_token,
        "PATCH",
        f"/api/users/{user.pk}",
        "--json",
        '{"email": "c+new@example.org"}',
    )

    assert ok_json(result)["email"] == "c+new@example.org"
    user.refresh_from_db()
    assert (user.username, user.email) == ("carol", "c+new@example.org")


def test_signed_delete_removes_the_user(client_command, live_server, api_token):
    user = UserFactory(username="dave")

    result = run_client(client_command, live_server, api_token, "DELETE", f"/api/users/{user.pk}")

    assert ok_json(result) is None  # 204, nothing printed
    assert not User.objects.filter(pk=user.pk).exists()


def test_wrong_secret_is_refused_with_401(client_command, live_server, api_token):
    user = UserFactory(username="erin")

    # Starting with "-" as a real secret may (token_urlsafe): the client must take it as the value of --secret.
    result = run_client(
        client_command, live_server, api_token, "DELETE", f"/api/users/{user.pk}", secret="-not-the-secret" * 3
    )

    assert result.returncode == 1
    assert "HTTP 401" in result.stderr
    assert "invalid token" in result.stderr
    assert User.objects.filter(pk=user.pk).exists()
