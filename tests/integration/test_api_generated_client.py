"""A client generated from the published schema by openapi-python-client works against a running panel.

The schema is read from the live server's /api/openapi.json, the client generated into a temporary
package and imported; a short script then lists users, creates a company and a user in it, with a
Bearer token, through the functions named after the operation IDs.
"""

import importlib
import subprocess
import sys
import urllib.request

import pytest

from accounts.models import User
from core.audit import Origin
from tests.factories import DEFAULT_PASSWORD, AdminFactory
from tokens.credentials import bearer_string
from tokens.services import token_create

PACKAGE = "panel_api_client"
# The generator's post hooks run ruff over the code, from PATH; the test needs the code as generated.
CONFIG = "post_hooks: []\n"


@pytest.fixture
def generated_client(live_server, tmp_path):
    """The package openapi-python-client generates from the live schema, imported; forgotten afterwards."""
    schema, config = tmp_path / "openapi.json", tmp_path / "config.yaml"
    with urllib.request.urlopen(f"{live_server.url}/api/openapi.json", timeout=30) as response:
        schema.write_bytes(response.read())
    config.write_text(CONFIG)
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(schema)]
    command += ["--config", str(config), "--meta", "none", "--output-path", str(tmp_path / PACKAGE)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_a_generated_client_lists_users_and_creates_a_company_and_a_user_in_it(live_server, generated_client):
    admin = AdminFactory(username="script-admin")
    token, secret = token_create(origin=Origin.command("test"), user=admin, long_term=True, name="generated")
    users_list, users_create, companies_create = (
        importlib.import_module(f"{PACKAGE}.api.{module}")
        for module in ("users.users_list", "users.users_create", "companies.companies_create")
    )
    models = importlib.import_module(f"{PACKAGE}.models")
    client = generated_client.AuthenticatedClient(base_url=live_server.url, token=bearer_string(token.pk, secret))

    page = users_list.sync(client=client, size=10)
    company = companies_create.sync(client=client, body=models.CompanyCreateIn(name="Generated Ltd"))
    new_user = users_create.sync(
        client=client,
        body=models.UserCreateIn(
            username="generated", email="generated@example.com", password=DEFAULT_PASSWORD, company_id=company.id
        ),
    )

    assert isinstance(page, models.UserPage), page
    assert (page.total, [item.username for item in page.items]) == (1, ["script-admin"])
    assert isinstance(company, models.CompanyOut), company
    assert isinstance(new_user, models.UserOut), new_user
    assert (new_user.username, new_user.company_id) == ("generated", company.id)
    assert User.objects.get(username="generated").company.name == "Generated Ltd"
