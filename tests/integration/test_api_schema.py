"""schemathesis against /api/openapi.json, through the WSGI app: each operation alone, and in sequences.

Generated requests (valid and invalid) must never get a server error, every answer must match the
schema the panel publishes (status code, content type, body), a request the schema calls invalid
must be refused and one it calls valid accepted, except where a rule no schema can state refuses it
(``RULES_NO_SCHEMA_STATES``). Bounded in time and derandomized, so CI sees the same cases.

- Each operation alone: 30 examples, as a script (a superuser's Bearer token) and as a browser
  (the superuser's session and CSRF token: the only way to create tokens and set passwords).
- Sequences: schemathesis's state machine follows the OpenAPI links (panel.api.LINKS) from a
  created user to the calls on it, and from a created token to its changes, as a browser.

The requests go through ``panel.wsgi.application`` as a server would run it, so it closes the
database connection after each request; ``transactional_db`` lets it, where the ``db``
fixture's open test transaction would be cut off on PostgreSQL.
"""

import schemathesis
from django.core.cache import cache
from django.core.management import call_command
from hypothesis import HealthCheck, settings
from schemathesis.config import OperationConfig, OperationsConfig

from core.audit import Origin
from panel.wsgi import application
from tests.factories import AdminFactory
from tests.integration.api_script import Browser
from tokens.authentication import FAILURES_PER_IP
from tokens.credentials import bearer_string
from tokens.services import token_create

# werkzeug's test client sends no REMOTE_ADDR; a real server always does.
CLIENT_IP = "127.0.0.1"
HYPOTHESIS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}

# A schema-valid request these operations may still refuse with 422, for a rule no schema can state:
# - a username taken by another user (ignoring case);
# - a password that is common, too like the username or email, or of one kind of character only;
# - an expiry relative to now (in the future, at most 100 years away for a user, 10 for a token), or
#   later than the parent user's; a token without one unless long_term;
# - a company or parent user that does not exist within the caller's scope;
# - IP allow-list entries that are not addresses or CIDR blocks, have host bits set or repeat;
# - the wrong current password when changing one's own;
# - a company or role name taken (ignoring case) or blank once trimmed, a company moved into its own subtree;
# - a role ID that does not exist within the caller's scope;
# - an audit filter's day or moment outside 1970 to 9999, or an end before the start;
# - a lock's name that no lock can have (no IP address for an address; a space inside an account's).
# Every other operation must accept every schema-valid request (or answer 403, 404, 409).
RULES_NO_SCHEMA_STATES = [
    "users_create",
    "users_update",
    "users_password_set",
    "tokens_create",
    "tokens_update",
    # - an expiry relative to now, or a whole company with someone beyond the caller's reach;
    # - a session lifetime together with long-term sessions;
    # - a wrong code, or an enrolment that is not open (not the user's, or confirmed already);
    # - new recovery codes, or turning off one's own two-factor, without a second factor or its proof.
    "users_expiry_set",
    "session_policy_set",
    "two_factor_totp_confirm",
    "two_factor_email_confirm",
    "two_factor_recovery_codes_regenerate",
    "two_factor_disable",
    "companies_create",
    "companies_update",
    "roles_create",
    "roles_update",
    "access_set",
    "audit_events_list",
    "locks_delete",
]


def load_schema(*, excluded_checks=()):
    """The published schema (public, no database needed), its requests sending Host: localhost."""
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)
    schema.config.generation.update(max_examples=30, deterministic=True, database="none")
    schema.config.checks.update(excluded_check_names=list(excluded_checks))
    accepted = [*schema.config.checks.positive_data_acceptance.expected_statuses, "422"]
    rules = {
        "include-operation-id": RULES_NO_SCHEMA_STATES,
        "checks": {"positive_data_acceptance": {"expected-statuses": accepted}},
    }
    schema.config.operations = OperationsConfig(operations=[OperationConfig.from_dict(rules)])
    # Sequences follow the published links only: an inferred one (user info -> delete that user) would
    # have the browser delete its own account, after which every call is rightly a 401.
    schema.config.phases.stateful.inference.algorithms = []
    return schema


script_schema = load_schema()
# A browser's session cookie travels beside the generated case, so ignored_auth would read the cookie
# schemathesis generates for the cookie scheme as the credential, and a 200 as "auth ignored". The
# script run checks that authentication is enforced.
browser_schema = load_schema(excluded_checks=["ignored_auth"])


def as_script():
    """The call's credentials: a fresh superuser's Bearer token (an earlier example may have deleted the last).

    The failed-token throttle is reset too: the auth checks' deliberately bad requests would
    otherwise block this address after twenty, and every later answer would be a 429.
    """
    FAILURES_PER_IP.reset(CLIENT_IP)
    token, secret = token_create(origin=Origin.command("schemathesis"), user=AdminFactory(), long_term=True)
    return {"headers": {"Authorization": f"Bearer {bearer_string(token.pk, secret)}"}}


def as_browser():
    """The call's credentials: a fresh superuser's browser, its session (with a recent login proof) and CSRF token."""
    browser = Browser.of(AdminFactory())
    cookies = {name: morsel.value for name, morsel in browser.client.cookies.items()}
    return {"headers": {"X-CSRFToken": browser.csrf}, "cookies": cookies}


def assert_the_credentials_held(response):
    """The run exercised the operation itself, not the authentication refusals."""
    assert response.status_code not in (401, 429), response.text


@script_schema.parametrize()
@settings(**HYPOTHESIS)
def test_script_calls_match_the_schema_and_are_never_server_errors(case, transactional_db):
    response = case.call_and_validate(**as_script(), environ_base={"REMOTE_ADDR": CLIENT_IP})

    assert_the_credentials_held(response)


@browser_schema.parametrize()
@settings(**HYPOTHESIS)
def test_browser_calls_match_the_schema_and_are_never_server_errors(case, transactional_db):
    response = case.call_and_validate(**as_browser(), environ_base={"REMOTE_ADDR": CLIENT_IP})

    assert_the_credentials_held(response)


class LinkedCalls(browser_schema.as_state_machine()):
    """Sequences of calls following the links, each scenario as a fresh superuser's browser."""

    def setup(self):
        self.credentials = as_browser()

    def teardown(self):
        # Each scenario starts from an empty database and cache: Hypothesis replays a scenario while it
        # shrinks or explores, and a username an earlier one took, or a counter or cached total it left
        # (throttles, the user list's total), would make the replay take another path.
        call_command("flush", interactive=False, verbosity=0)
        cache.clear()

    def get_call_kwargs(self, case):
        return {**self.credentials, "environ_base": {"REMOTE_ADDR": CLIENT_IP}}

    def after_call(self, response, case):
        super().after_call(response, case)
        assert_the_credentials_held(response)


def test_linked_calls_match_the_schema_and_are_never_server_errors(transactional_db):
    LinkedCalls.run(settings=settings(max_examples=40, stateful_step_count=10, **HYPOTHESIS))
