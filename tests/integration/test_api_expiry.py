"""PUT /api/users/{user_id}/expiry: one account's expiry, or every account of its company, with the count.

The expiry page's rules (accounts.services.user_set_expiry): accounts.change_user, the data scope and the
power rule for every account the change reaches, nobody lifts their own, the last user manager stays.
"""

import datetime

import pytest
import time_machine

from accounts.models import User
from core.models import AuditEvent
from organisation.models import Company
from tests.factories import AdminFactory, UserFactory
from tests.integration.api_script import Browser, Script, assert_error
from tests.integration.conftest import grant

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2031, 4, 1, 12, 0, tzinfo=datetime.UTC)
EXPIRY = "2031-05-01T12:00:00+00:00"
MANAGE = "accounts.change_user"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def east(db):
    return Company.objects.create(name="East")


@pytest.fixture
def company_admin(east):
    """A semi-trusted admin of East: may manage East's users, nobody else."""
    return grant(UserFactory(username="eastadmin", company=east), "accounts.view_user", MANAGE)


def _expiry(user_id):
    return f"/api/users/{user_id}/expiry"


def _expiries(*users):
    return [User.objects.get(pk=user.pk).expires_at for user in users]


def test_one_accounts_expiry_is_set(company_admin, east):
    colleague, other = UserFactory(company=east), UserFactory(company=east)

    response = Script.of(company_admin).call("put", _expiry(colleague.pk), {"expires_at": EXPIRY})

    assert (response.status_code, response.json()) == (
        200,
        {"expires_at": "2031-05-01T12:00:00Z", "accounts_changed": 1},
    )
    assert _expiries(colleague, other) == [datetime.datetime.fromisoformat(EXPIRY), None]


def test_the_whole_company_is_set_and_counted(east):
    members = [UserFactory(company=east) for _ in range(3)]
    subsidiary = UserFactory(company=Company.objects.create(name="East North", parent=east))
    script = Script.of(AdminFactory())

    response = script.call("put", _expiry(members[0].pk), {"expires_at": EXPIRY, "whole_company": True})

    assert response.json()["accounts_changed"] == 3
    assert _expiries(*members, subsidiary) == [datetime.datetime.fromisoformat(EXPIRY)] * 3 + [None]
    event = AuditEvent.objects.get(action="user.expiry")
    assert (event.details["accounts_changed"], event.details["company"]) == (3, "East")


def test_the_count_leaves_out_accounts_already_at_that_moment(east):
    members = [UserFactory(company=east) for _ in range(2)]
    script = Script.of(AdminFactory())
    script.call("put", _expiry(members[0].pk), {"expires_at": EXPIRY})

    response = script.call("put", _expiry(members[1].pk), {"expires_at": EXPIRY, "whole_company": True})

    assert response.json()["accounts_changed"] == 1


def test_null_clears_the_expiry(east):
    member = UserFactory(company=east, expires_at=T0 + datetime.timedelta(days=3))

    response = Script.of(AdminFactory()).call("put", _expiry(member.pk), {"expires_at": None, "whole_company": True})

    assert response.json() == {"expires_at": None, "accounts_changed": 1}
    assert _expiries(member) == [None]


def test_a_browser_session_sets_it_too(east):
    member = UserFactory(company=east)

    response = Browser.of(AdminFactory()).call("put", _expiry(member.pk), {"expires_at": EXPIRY})

    assert response.status_code == 200


def test_a_user_of_no_company_has_no_whole_company(carol):
    response = Script.of(AdminFactory()).call("put", _expiry(carol.pk), {"expires_at": EXPIRY, "whole_company": True})

    assert_error(response, 422, fields=["expires_at"])


def test_a_company_admin_cannot_set_a_company_holding_someone_beyond_their_reach(company_admin, east):
    boss = AdminFactory(username="boss", company=east)
    colleague = UserFactory(company=east)

    response = Script.of(company_admin).call(
        "put", _expiry(colleague.pk), {"expires_at": EXPIRY, "whole_company": True}
    )

    body = assert_error(response, 422, fields=["expires_at"])
    assert "boss" in body["errors"]["expires_at"][0]
    assert _expiries(boss, colleague) == [None, None]


def test_a_company_admin_cannot_reach_another_company_or_a_superuser(company_admin, east):
    stranger = UserFactory(company=Company.objects.create(name="West"))
    boss = AdminFactory(company=east)
    script = Script.of(company_admin)

    for target in (stranger, boss):
        assert_error(script.call("put", _expiry(target.pk), {"expires_at": EXPIRY, "whole_company": True}), 404)
    assert _expiries(stranger, boss) == [None, None]


def test_nobody_sets_their_own_expiry(company_admin):
    response = Script.of(company_admin).call("put", _expiry(company_admin.pk), {"expires_at": None})

    assert_error(response, 403)


def test_without_the_permission_it_is_forbidden(carol, other_user):
    assert_error(Script.of(carol).call("put", _expiry(other_user.pk), {"expires_at": EXPIRY}), 403)


def test_the_last_user_manager_is_not_expired(east):
    only = AdminFactory(company=east)
    User.objects.exclude(pk=only.pk).delete()

    response = Browser.of(only).call("put", _expiry(only.pk), {"expires_at": EXPIRY, "whole_company": True})

    assert_error(response, 409)
    assert _expiries(only) == [None]
    assert AuditEvent.objects.filter(action="user.expiry", outcome=AuditEvent.Outcome.FAILURE).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expires_at": "2031-03-01T12:00:00+00:00"}, "expires_at"),  # past
        ({"expires_at": "2300-01-01T00:00:00+00:00"}, "expires_at"),  # over 100 years
        ({"expires_at": "2031-05-01T12:00:00"}, "expires_at"),  # no offset
        ({"expires_at": "1956000000"}, "expires_at"),
        ({"expires_at": 1956000000}, "expires_at"),
        ({"expires_at": "2031-05-01T12:00:00\u0000"}, "expires_at"),
        ({"expires_at": "9" * 10_000}, "expires_at"),
        ({"expires_at": EXPIRY, "whole_company": "perhaps"}, "whole_company"),
        ({"expires_at": EXPIRY, "whole_company": None}, "whole_company"),
        ({"whole_company": True}, "expires_at"),
    ],
)
def test_bad_values_are_validation_errors(east, body, field):
    member = UserFactory(company=east)

    response = Script.of(AdminFactory()).call("put", _expiry(member.pk), body)

    assert_error(response, 422, fields=[field])
    assert _expiries(member) == [None]


@pytest.mark.parametrize(("user_id", "status"), [("abc", 422), ("1.5", 422), ("0", 404), ("-1", 404), ("9" * 40, 404)])
def test_an_id_that_is_no_user_is_refused(user_id, status):
    response = Script.of(AdminFactory()).call("put", _expiry(user_id), {"expires_at": EXPIRY})

    assert_error(response, status, fields=["user_id"] if status == 422 else None)
