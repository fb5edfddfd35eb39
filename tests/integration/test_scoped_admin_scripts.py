"""README's complete scripts (docs/clients/scoped_admin.py and .sh) work against a running panel.

Each creates a company, a scoped admin in it with a role and the API module, a read-only token for
that admin (logged in as a browser), and lists users with it; the tests check what they print and
what the database holds afterwards.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from accounts.models import User
from core.audit import Origin
from tests.factories import DEFAULT_PASSWORD, AdminFactory, UserFactory
from tokens.credentials import bearer_string
from tokens.models import AccessToken
from tokens.services import token_create

CLIENTS_DIR = Path(__file__).resolve().parents[2] / "docs" / "clients"
READ_ONLY = ["accounts.view_user", "auth.view_group", "organisation.view_company"]
HAS_SHELL_TOOLS = all(shutil.which(tool) for tool in ("sh", "curl", "openssl"))


@pytest.fixture
def operator_token(transactional_db):
    """(token ID, secret) of a superuser's token; another user outside the new company must stay unseen."""
    UserFactory(username="outsider")
    token, secret = token_create(origin=Origin.command("test"), user=AdminFactory(), long_term=True, name="operator")
    return token.pk, secret


def run_script(command, live_server, environment):
    env = {**os.environ, "PANEL_URL": live_server.url, "PANEL_ADMIN_PASSWORD": DEFAULT_PASSWORD, **environment}
    arguments = ["Acme Logistics", "acme-admin", "acme-admin@example.com"]
    return subprocess.run([*command, *arguments], capture_output=True, text=True, timeout=120, env=env, check=False)


def assert_the_scoped_admin_and_their_read_only_token(result):
    assert result.returncode == 0, result.stdout + result.stderr
    admin = User.objects.get(username="acme-admin")
    token = AccessToken.objects.get(user=admin)
    assert f"(shown this once): pnl_{token.pk}_" in result.stderr
    # The list the token gave: the company's users only, the admin alone.
    assert '"username": "acme-admin"' in result.stdout and '"total": 1' in result.stdout.replace("\n", " ")
    assert "outsider" not in result.stdout
    assert admin.company.name == "Acme Logistics"
    assert [role.name for role in admin.groups.all()] == ["Acme Logistics admins"]
    assert admin.has_perm("accounts.add_user") and admin.has_perm("accounts.use_api")
    assert sorted(token.permissions) == READ_ONLY


def test_the_python_script_creates_a_scoped_admin_with_a_read_only_token(live_server, operator_token):
    token_id, secret = operator_token
    command = [sys.executable, str(CLIENTS_DIR / "scoped_admin.py")]

    result = run_script(command, live_server, {"PANEL_TOKEN": bearer_string(token_id, secret)})

    assert_the_scoped_admin_and_their_read_only_token(result)


@pytest.mark.skipif(not HAS_SHELL_TOOLS, reason="needs sh, curl and openssl")
def test_the_shell_script_creates_a_scoped_admin_with_a_read_only_token(live_server, operator_token):
    token_id, secret = operator_token
    command = ["sh", str(CLIENTS_DIR / "scoped_admin.sh")]

    result = run_script(command, live_server, {"PANEL_TOKEN_ID": str(token_id), "PANEL_TOKEN_SECRET": secret})

    assert_the_scoped_admin_and_their_read_only_token(result)
