"""The session endpoints: a user's login sessions (list, end one, end all) and their session policy.

The same rules as the session pages (panel.session_views): your own sessions, or anyone's in your scope
with accounts.change_user; the policy needs accounts.change_user and is never your own (but a superuser's).
"""

import pytest

from core.models import AuditEvent
from organisation.models import Company
from tests.factories import AdminFactory, UserFactory, UserSessionFactory
from tests.integration.api_script import Browser, Script, assert_error
from tests.integration.conftest import grant, session_exists
from usersessions.models import UserSession

pytestmark = pytest.mark.django_db

MANAGE = "accounts.change_user"
DEFAULT_POLICY = {"long_term_sessions": False, "session_lifetime": None, "exclusive_login": False}


def _sessions(user_id):
    return f"/api/users/{user_id}/sessions"


def _policy(user_id):
    return f"/api/users/{user_id}/session-policy"


@pytest.fixture
def company_admin(db):
    """A semi-trusted admin of East: may manage East's users, nobody else."""
    east = Company.objects.create(name="East")
    return grant(UserFactory(username="eastadmin", company=east), "accounts.view_user", MANAGE)


@pytest.fixture
def stranger(db):
    return UserFactory(username="stranger", company=Company.objects.create(name="West"))


# listing


def test_own_sessions_are_listed_with_their_device(carol):
    session = UserSessionFactory(user=carol)

    response = Script.of(carol).call("get", _sessions(carol.pk))

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["size"]) == (1, 1, 20)
    [item] = body["items"]
    assert item["id"] == session.pk
    assert item["ip"] == "192.0.2.1"
    assert item["device"] != "Unknown device"
    assert item["current"] is False


def test_the_browser_asking_is_marked_current(carol):
    browser = Browser.of(carol)

    items = browser.call("get", _sessions(carol.pk)).json()["items"]

    assert [item["current"] for item in items] == [True]


def test_sessions_are_paged_and_past_the_end_is_empty(carol):
    for _ in range(3):
        UserSessionFactory(user=carol)
    script = Script.of(carol)

    second = script.call("get", _sessions(carol.pk), page=2, limit=2).json()
    past = script.call("get", _sessions(carol.pk), page=9, size=2).json()

    assert (len(second["items"]), second["total"], second["size"]) == (1, 3, 2)
    assert (past["items"], past["total"]) == ([], 3)


def test_another_users_sessions_need_the_permission(carol, other_user):
    UserSessionFactory(user=other_user)

    assert_error(Script.of(carol).call("get", _sessions(other_user.pk)), 403)
    assert Script.of(grant(UserFactory(), MANAGE)).call("get", _sessions(other_user.pk)).json()["total"] == 1


def test_a_company_admin_cannot_reach_sessions_beyond_their_scope(company_admin, stranger):
    boss = AdminFactory(company=company_admin.company)
    script = Script.of(company_admin)

    for target in (boss, stranger):
        session = UserSessionFactory(user=target)
        assert_error(script.call("get", _sessions(target.pk)), 404)
        assert_error(script.call("delete", f"{_sessions(target.pk)}/{session.pk}"), 404)
        assert_error(script.call("delete", _sessions(target.pk)), 404)
        assert session_exists(session.session_key)


@pytest.mark.parametrize("query", [{"page": 0}, {"size": 201}, {"limit": "x"}, {"page": "%00"}])
def test_bad_paging_is_a_validation_error(carol, query):
    response = Script.of(carol).call("get", _sessions(carol.pk), **query)

    assert_error(response, 422, fields=list(query))


# ending


def test_ending_one_session_logs_its_browser_out(carol):
    session = UserSessionFactory(user=carol)

    response = Script.of(carol).call("delete", f"{_sessions(carol.pk)}/{session.pk}")

    assert response.status_code == 204
    assert not session_exists(session.session_key)
    assert not UserSession.objects.filter(pk=session.pk).exists()
    assert AuditEvent.objects.filter(action="session.end", target_id=str(carol.pk)).exists()


def test_ending_the_browsers_own_session_logs_it_out(carol):
    browser = Browser.of(carol)
    [item] = browser.call("get", _sessions(carol.pk)).json()["items"]

    assert browser.call("delete", f"{_sessions(carol.pk)}/{item['id']}").status_code == 204

    assert_error(browser.call("get", _sessions(carol.pk)), 401)


def test_a_session_of_another_user_is_not_found_under_yours(carol, other_user):
    session = UserSessionFactory(user=other_user)

    response = Script.of(carol).call("delete", f"{_sessions(carol.pk)}/{session.pk}")

    assert_error(response, 404)
    assert session_exists(session.session_key)


def test_ending_all_own_sessions_keeps_the_browser_asking(carol):
    others = [UserSessionFactory(user=carol) for _ in range(2)]
    browser = Browser.of(carol)

    response = browser.call("delete", _sessions(carol.pk))

    assert (response.status_code, response.json()) == (200, {"sessions_ended": 2})
    assert not any(session_exists(session.session_key) for session in others)
    assert browser.call("get", _sessions(carol.pk)).json()["total"] == 1


def test_a_token_ends_all_of_its_owners_sessions(carol):
    UserSessionFactory(user=carol)
    script = Script.of(carol)

    assert script.call("delete", _sessions(carol.pk)).json() == {"sessions_ended": 1}
    assert script.call("get", _sessions(carol.pk)).json()["total"] == 0


def test_an_admin_ends_all_of_another_users_sessions(other_user):
    UserSessionFactory(user=other_user)
    admin = Browser.of(AdminFactory())

    assert admin.call("delete", _sessions(other_user.pk)).json() == {"sessions_ended": 1}


# the session policy


def test_the_policy_is_read_and_set(other_user):
    script = Script.of(grant(UserFactory(), MANAGE))
    policy = {"long_term_sessions": False, "session_lifetime": 3600, "exclusive_login": True}

    assert script.call("get", _policy(other_user.pk)).json() == DEFAULT_POLICY
    response = script.call("put", _policy(other_user.pk), policy)

    assert (response.status_code, response.json()) == (200, policy)
    assert script.call("get", _policy(other_user.pk)).json() == policy
    event = AuditEvent.objects.get(action="user.session_policy")
    assert event.details["changes"]["exclusive_login"] == {"from": False, "to": True}


def test_setting_the_same_policy_changes_and_audits_nothing(other_user):
    script = Script.of(grant(UserFactory(), MANAGE))

    assert script.call("put", _policy(other_user.pk), DEFAULT_POLICY).status_code == 200

    assert not AuditEvent.objects.filter(action="user.session_policy").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"session_lifetime": 299}, "session_lifetime"),
        ({"session_lifetime": 90 * 86400 + 1}, "session_lifetime"),
        ({"session_lifetime": -1}, "session_lifetime"),
        ({"session_lifetime": 10**40}, "session_lifetime"),
        ({"session_lifetime": 3600, "long_term_sessions": True}, "session_lifetime"),
        ({"session_lifetime": "an hour"}, "session_lifetime"),
        ({"session_lifetime": 3600.5}, "session_lifetime"),
        ({"exclusive_login": "maybe"}, "exclusive_login"),
        ({"exclusive_login": None}, "exclusive_login"),
        ({"long_term_sessions": [True]}, "long_term_sessions"),
    ],
)
def test_a_bad_policy_is_refused_with_the_fields_error(other_user, change, field):
    script = Script.of(grant(UserFactory(), MANAGE))

    response = script.call("put", _policy(other_user.pk), {**DEFAULT_POLICY, **change})

    assert_error(response, 422, fields=[field])
    assert script.call("get", _policy(other_user.pk)).json() == DEFAULT_POLICY


@pytest.mark.parametrize("body", [{}, [], "text", {"long_term_sessions": False}])
def test_a_policy_must_be_whole(other_user, body):
    script = Script.of(grant(UserFactory(), MANAGE))

    assert script.call("put", _policy(other_user.pk), body).status_code == 422


def test_nobody_sets_their_own_policy_but_a_superuser(carol):
    manager = grant(UserFactory(), MANAGE)
    superuser = AdminFactory()

    assert_error(Script.of(manager).call("put", _policy(manager.pk), DEFAULT_POLICY), 403)
    assert_error(Script.of(manager).call("get", _policy(manager.pk)), 403)
    assert_error(Script.of(carol).call("get", _policy(carol.pk)), 403)
    assert Script.of(superuser).call("put", _policy(superuser.pk), DEFAULT_POLICY).status_code == 200


def test_a_company_admin_cannot_set_a_policy_beyond_their_scope(company_admin, stranger):
    boss = AdminFactory(company=company_admin.company)
    colleague = UserFactory(company=company_admin.company)
    script = Script.of(company_admin)
    policy = {**DEFAULT_POLICY, "exclusive_login": True}

    for target in (boss, stranger):
        assert_error(script.call("put", _policy(target.pk), policy), 404)
    assert script.call("put", _policy(colleague.pk), policy).status_code == 200
