"""schemathesis against /api/openapi.json, through the WSGI app, with a superuser's Bearer token.

For every operation, generated requests (valid and invalid) must never get a server error,
and every answer must match the schema the panel publishes (status code, content type,
body). Bounded in time: 30 examples per operation, derandomized, so CI sees the same cases.

The requests go through ``panel.wsgi.application`` as a server would run it, so it closes the
database connection after each request; ``transactional_db`` lets it, where the ``db``
fixture's open test transaction would be cut off on PostgreSQL.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from core.audit import Origin
from panel.wsgi import application
from tests.factories import AdminFactory
from tokens.authentication import FAILURES_PER_IP
from tokens.credentials import bearer_string
from tokens.services import token_create

# werkzeug's test client sends no REMOTE_ADDR; a real server always does.
CLIENT_IP = "127.0.0.1"

# The schema is public and needs no database: read once, at import. Its requests send Host: localhost.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
schema.config.generation.update(max_examples=30, deterministic=True, database="none")
# A schema cannot state every rule (a taken username, a common password, an expiry at most ten
# years away), so a schema-valid request may still be refused with 422, which every operation documents.
schema.config.checks.positive_data_acceptance.expected_statuses = [
    *schema.config.checks.positive_data_acceptance.expected_statuses,
    "422",
]


@pytest.fixture
def issue_bearer(transactional_db):
    """Headers with a fresh superuser's token, for each example: an earlier one may have deleted the last.

    The failed-token throttle is reset too: the auth checks' deliberately bad requests would
    otherwise block this address after twenty, and every later answer would be a 429.
    """

    def issue():
        FAILURES_PER_IP.reset(CLIENT_IP)
        admin = AdminFactory()
        token, secret = token_create(origin=Origin.command("schemathesis"), user=admin, long_term=True)
        return {"Authorization": f"Bearer {bearer_string(token.pk, secret)}"}

    return issue


@schema.parametrize()
@settings(deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_api_answers_match_the_schema_and_are_never_server_errors(case, issue_bearer):
    response = case.call_and_validate(headers=issue_bearer(), environ_base={"REMOTE_ADDR": CLIENT_IP})

    # The token was accepted: the run exercised the operation itself, not the authentication refusals.
    assert response.status_code not in (401, 429), response.text
