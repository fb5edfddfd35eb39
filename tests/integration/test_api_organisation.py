"""Companies, roles and a user's access over the JSON API: the services, permissions, scope and re-authentication
rule of their pages, as a script (Bearer) and as a browser session.

The tree: Root → (East, West), East → East-Sub. ``eve`` administers East (and so East-Sub) with the company
and role permissions; each refusal of hers below is the scope at work, not a missing permission.
"""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group

from core.models import AuditEvent
from core.reauth import PROOF_AT
from organisation.models import Company, Role
from organisation.selectors import permissions_named
from tests.factories import UserFactory
from tests.integration.api_script import NO_BODY, Browser, Script, assert_error
from tests.integration.conftest import events, grant

pytestmark = pytest.mark.django_db

HUGE_IDS = [2**63 - 1, 2**63, 10**30]
EAST = object()  # stands for East's ID in parameters, known only once the fixture made it
ORGANISATION_ADMIN = (
    "accounts.view_user",
    "accounts.change_user",
    "organisation.view_company",
    "organisation.add_company",
    "organisation.change_company",
    "organisation.delete_company",
    "auth.view_group",
    "auth.add_group",
    "auth.change_group",
    "auth.delete_group",
)


@pytest.fixture
def org(db):
    root = Company.objects.create(name="Root")
    east = Company.objects.create(name="East", parent=root)
    west = Company.objects.create(name="West", parent=root)
    east_sub = Company.objects.create(name="East-Sub", parent=east)
    return SimpleNamespace(
        root=root,
        east=east,
        west=west,
        east_sub=east_sub,
        eve=grant(UserFactory(username="eve", company=east), *ORGANISATION_ADMIN),
        ed=UserFactory(username="ed", company=east_sub),
        walt=UserFactory(username="walt", company=west),
    )


@pytest.fixture
def admin(admin_user):
    return Script.of(admin_user)


@pytest.fixture
def eve(org):
    return Script.of(org.eve)


@pytest.fixture
def eve_browser(org):
    return Browser.of(org.eve)


def go_stale(browser):
    """The browser's login proof is older than the re-authentication window."""
    session = browser.client.session
    session[PROOF_AT] = 0
    session.save()


def company_rows():
    return list(Company.objects.order_by("pk").values())


def assert_api_event(action, script, target_type, target_id):
    (event,) = events(action, outcome=AuditEvent.Outcome.SUCCESS)
    assert event.actor_id == script.user.pk
    assert (event.target_type, event.target_id) == (target_type, str(target_id))
    assert event.details["via"] == "api"
    assert event.details.get("credential") == (script.token.pk if script.token is not None else None)
    return event


# Companies


def test_company_list_is_the_tree_in_order_with_depths_and_user_counts(org, admin):
    response = admin.call("get", "/api/companies")

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["size"]) == (4, 1, 20)
    rows = [(item["name"], item["depth"], item["user_count"], item["subtree_user_count"]) for item in body["items"]]
    assert rows == [("Root", 0, 0, 3), ("East", 1, 1, 2), ("East-Sub", 2, 1, 1), ("West", 1, 1, 1)]


def test_company_list_is_paged_and_past_the_end_is_empty(org, admin):
    second = admin.call("get", "/api/companies", page=2, limit=3).json()
    beyond = admin.call("get", "/api/companies", page=9, size=3).json()

    assert [item["name"] for item in second["items"]] == ["West"]
    assert (beyond["items"], beyond["total"], beyond["page"]) == ([], 4, 9)


def test_a_company_admin_lists_only_their_companies(org, eve):
    body = eve.call("get", "/api/companies").json()

    assert [(item["name"], item["depth"]) for item in body["items"]] == [("East", 0), ("East-Sub", 1)]


def test_one_company_names_what_its_cascade_would_take(org, admin):
    body = admin.call("get", f"/api/companies/{org.east.pk}").json()

    assert (body["name"], body["parent_id"]) == ("East", org.root.pk)
    assert (body["subsidiaries"], body["users"]) == (["East-Sub"], ["ed", "eve"])


def test_create_a_company_under_a_parent(org, admin):
    response = admin.call("post", "/api/companies", {"name": "North", "parent_id": org.root.pk})

    assert response.status_code == 201
    created = Company.objects.get(name="North")
    assert response.json() == {
        "id": created.pk,
        "name": "North",
        "parent_id": org.root.pk,
        "created_at": response.json()["created_at"],
    }
    assert_api_event("company.create", admin, "company", created.pk)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": ""}, {"name"}),
        ({"name": "   "}, {"name"}),
        ({"name": "x" * 101}, {"name"}),
        ({"name": "bad\x00name"}, {"name"}),
        ({"name": "tab\there"}, {"name"}),
        ({"name": 7}, {"name"}),
        ({"name": "East", "parent_id": "root"}, {"parent_id"}),
        ({}, {"name"}),
    ],
)
def test_create_refuses_bad_values_with_field_errors(org, admin, body, fields):
    before = company_rows()

    assert_error(admin.call("post", "/api/companies", body), 422, fields)
    assert company_rows() == before


def test_create_refuses_a_name_taken_under_the_same_parent(org, admin):
    response = admin.call("post", "/api/companies", {"name": "east", "parent_id": org.root.pk})

    body = assert_error(response, 422, {"name"})
    assert body["errors"]["name"] == ["A company named “east” already exists under Root."]


@pytest.mark.parametrize("parent_id", [999_999, *HUGE_IDS])
def test_create_refuses_an_unknown_parent(org, admin, parent_id):
    assert_error(admin.call("post", "/api/companies", {"name": "X", "parent_id": parent_id}), 422, {"parent_id"})


def test_a_company_admin_creates_only_within_their_scope(org, eve):
    before = company_rows()

    assert_error(eve.call("post", "/api/companies", {"name": "X", "parent_id": org.west.pk}), 422, {"parent_id"})
    assert_error(eve.call("post", "/api/companies", {"name": "X"}), 422, {"parent"})
    assert company_rows() == before
    assert eve.call("post", "/api/companies", {"name": "X", "parent_id": org.east.pk}).status_code == 201


def test_rename_and_move_a_company(org, admin):
    response = admin.call("patch", f"/api/companies/{org.east_sub.pk}", {"name": "Sub", "parent_id": org.west.pk})

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["parent_id"]) == ("Sub", org.west.pk)
    event = assert_api_event("company.update", admin, "company", org.east_sub.pk)
    assert event.details["changes"] == {
        "name": {"from": "East-Sub", "to": "Sub"},
        "parent": {"from": "East", "to": "West"},
    }


def test_a_rename_alone_leaves_the_company_where_it_is_and_null_moves_it_to_the_top(org, admin):
    admin.call("patch", f"/api/companies/{org.east.pk}", {"name": "Eastern"})
    org.east.refresh_from_db()
    assert (org.east.name, org.east.parent_id) == ("Eastern", org.root.pk)

    admin.call("patch", f"/api/companies/{org.east.pk}", {"parent_id": None})
    org.east.refresh_from_db()
    assert (org.east.name, org.east.parent_id) == ("Eastern", None)


def test_a_company_never_moves_into_its_own_subtree(org, admin):
    before = company_rows()

    response = admin.call("patch", f"/api/companies/{org.east.pk}", {"parent_id": org.east_sub.pk})

    assert_error(response, 422, {"parent"})
    assert company_rows() == before


def test_a_company_admin_cannot_move_their_own_company_out_of_their_scope_nor_reach_another(org, eve):
    before = company_rows()

    assert_error(eve.call("patch", f"/api/companies/{org.east.pk}", {"parent_id": None}), 422, {"parent"})
    assert_error(eve.call("patch", f"/api/companies/{org.west.pk}", {"name": "Mine"}), 404)
    assert_error(eve.call("patch", f"/api/companies/{org.east_sub.pk}", {"parent_id": org.west.pk}), 422, {"parent_id"})
    assert company_rows() == before


def test_delete_an_empty_company(org, admin):
    empty = Company.objects.create(name="Empty", parent=org.root)

    assert admin.call("delete", f"/api/companies/{empty.pk}").status_code == 204
    assert not Company.objects.filter(pk=empty.pk).exists()
    assert_api_event("company.delete", admin, "company", empty.pk)


def test_deleting_a_company_with_contents_needs_the_cascade(org, admin):
    before = company_rows()

    body = assert_error(admin.call("delete", f"/api/companies/{org.east.pk}"), 409)
    assert "still holds 2 users and 1 subsidiary" in body["detail"]
    assert company_rows() == before

    assert admin.call("delete", f"/api/companies/{org.east.pk}?cascade=true").status_code == 204
    assert set(Company.objects.values_list("name", flat=True)) == {"Root", "West"}
    event = assert_api_event("company.delete", admin, "company", org.east.pk)
    assert (event.details["subsidiaries_deleted"], event.details["users_deleted"]) == (1, 2)


def test_a_company_admin_cannot_delete_their_own_company_nor_another(org, eve):
    before = company_rows()

    assert_error(eve.call("delete", f"/api/companies/{org.east.pk}?cascade=true"), 409)
    assert_error(eve.call("delete", f"/api/companies/{org.west.pk}"), 404)
    assert company_rows() == before


def test_deleting_a_company_needs_a_recent_login_in_a_browser_but_not_with_a_token(org, admin, admin_user):
    browser = Browser.of(admin_user)
    go_stale(browser)
    empty = Company.objects.create(name="Empty")

    assert_error(browser.call("delete", f"/api/companies/{empty.pk}"), 403)
    assert Company.objects.filter(pk=empty.pk).exists()
    assert admin.call("delete", f"/api/companies/{empty.pk}").status_code == 204


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/companies/{id}", NO_BODY),
        ("patch", "/api/companies/{id}", {"name": "X"}),
        ("delete", "/api/companies/{id}", NO_BODY),
    ],
)
@pytest.mark.parametrize("company_id", [0, 999_999, *HUGE_IDS])
def test_unknown_company_is_404(org, admin, method, path, body, company_id):
    assert_error(admin.call(method, path.format(id=company_id), body), 404)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/companies", NO_BODY),
        ("post", "/api/companies", {"name": "X"}),
        ("patch", "/api/companies/{id}", {"name": "X"}),
        ("delete", "/api/companies/{id}", NO_BODY),
        ("get", "/api/roles", NO_BODY),
        ("post", "/api/roles", {"name": "X"}),
        ("get", "/api/users/{user}/access", NO_BODY),
        ("put", "/api/users/{user}/access", {"roles": [], "permissions": []}),
    ],
)
def test_each_operation_needs_its_permission(org, plain_user, method, path, body):
    script = Script.of(UserFactory(company=org.east))
    before = company_rows()

    assert_error(script.call(method, path.format(id=org.east_sub.pk, user=org.ed.pk), body), 403)
    assert company_rows() == before


# Roles


@pytest.fixture
def roles(org):
    """A panel-wide role, one of East's and one of West's."""
    support = Group.objects.create(name="Support")
    east_ops = Group.objects.create(name="East ops")
    Role.objects.create(group=east_ops, company=org.east)
    west_ops = Group.objects.create(name="West ops")
    Role.objects.create(group=west_ops, company=org.west)
    east_ops.permissions.set(permissions_named(["accounts.view_user"]))
    org.ed.groups.add(east_ops)
    return SimpleNamespace(support=support, east_ops=east_ops, west_ops=west_ops)


def test_role_list_shows_permissions_members_and_whether_each_may_be_changed(roles, eve):
    body = eve.call("get", "/api/roles").json()

    assert body["total"] == 2
    assert [
        (item["name"], item["company_id"], item["permissions"], item["member_count"], item["changeable"])
        for item in body["items"]
    ] == [
        ("East ops", roles.east_ops.role.company_id, ["accounts.view_user"], 1, True),
        ("Support", None, [], 0, False),
    ]


def test_create_a_role(org, eve):
    body = {"name": "Auditors", "company_id": org.east.pk, "permissions": ["accounts.view_user"]}

    response = eve.call("post", "/api/roles", body)

    assert response.status_code == 201
    role = Group.objects.get(name="Auditors")
    assert response.json() == {
        "id": role.pk,
        "name": "Auditors",
        "company_id": org.east.pk,
        "permissions": ["accounts.view_user"],
        "member_count": 0,
        "changeable": True,
    }
    assert_api_event("role.create", eve, "group", role.pk)


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"name": "", "company_id": "east"}, {"company_id"}),
        ({"name": "  "}, {"name"}),
        ({"name": "x" * 151}, {"name"}),
        ({"name": "a\x00b"}, {"name"}),
        ({"name": "Ops", "permissions": "accounts.view_user"}, {"permissions"}),
        ({"name": "Ops", "company_id": EAST, "permissions": ["accounts.nothing"]}, {"permissions"}),
        ({"name": "Ops", "company_id": EAST, "permissions": ["core.unlock_accounts"]}, {"permissions"}),  # not eve's
        ({"name": "Ops"}, {"company"}),  # a company admin's roles belong to a company
        ({"name": "Ops", "company_id": 2**63}, {"company_id"}),
    ],
)
def test_role_create_refuses_bad_values_with_field_errors(org, eve, body, fields):
    body = {**body, "company_id": org.east.pk} if body.get("company_id") is EAST else body
    before = list(Group.objects.values_list("pk", flat=True))

    assert_error(eve.call("post", "/api/roles", body), 422, fields)
    assert list(Group.objects.values_list("pk", flat=True)) == before


def test_update_a_role_changes_only_what_is_given(roles, eve):
    response = eve.call("patch", f"/api/roles/{roles.east_ops.pk}", {"permissions": ["organisation.view_company"]})

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["permissions"]) == ("East ops", ["organisation.view_company"])
    assert response.json()["company_id"] == roles.east_ops.role.company_id
    event = assert_api_event("role.update", eve, "group", roles.east_ops.pk)
    assert (event.details["added"], event.details["removed"]) == (["organisation.view_company"], ["accounts.view_user"])


def test_a_company_admin_cannot_change_a_panel_role_nor_reach_another_companys(roles, eve):
    assert_error(eve.call("patch", f"/api/roles/{roles.support.pk}", {"name": "Mine"}), 404)
    assert_error(eve.call("delete", f"/api/roles/{roles.west_ops.pk}"), 404)
    assert_error(eve.call("get", f"/api/roles/{roles.west_ops.pk}"), 404)
    assert Group.objects.filter(pk=roles.west_ops.pk).exists()


def test_delete_a_role(roles, eve):
    assert eve.call("delete", f"/api/roles/{roles.east_ops.pk}").status_code == 204

    assert not Group.objects.filter(pk=roles.east_ops.pk).exists()
    assert assert_api_event("role.delete", eve, "group", roles.east_ops.pk).details["members"] == 1


def test_deleting_the_role_of_the_last_user_manager_is_409(db):
    manager_role = Group.objects.create(name="Managers")
    manager_role.permissions.set(permissions_named(["accounts.change_user", "auth.delete_group"]))
    manager = UserFactory()
    manager.groups.add(manager_role)
    script = Script.of(manager)

    assert_error(script.call("delete", f"/api/roles/{manager_role.pk}"), 409)
    assert Group.objects.filter(pk=manager_role.pk).exists()


@pytest.mark.parametrize("role_id", [0, 999_999, *HUGE_IDS])
def test_unknown_role_is_404(admin, role_id):
    assert_error(admin.call("get", f"/api/roles/{role_id}"), 404)
    assert_error(admin.call("patch", f"/api/roles/{role_id}", {"name": "X"}), 404)


# A user's access


def test_access_shows_roles_direct_permissions_and_where_each_comes_from(org, roles, eve):
    grant(org.ed, "accounts.view_user", "organisation.view_company")

    body = eve.call("get", f"/api/users/{org.ed.pk}/access").json()

    assert body["roles"] == [{"id": roles.east_ops.pk, "name": "East ops"}]
    assert body["permissions"] == ["accounts.view_user", "organisation.view_company"]
    assert [(row["permission"], row["module"], row["sources"]) for row in body["effective"]] == [
        ("accounts.view_user", "Users", ["East ops", "direct"]),
        ("organisation.view_company", "Companies", ["direct"]),
    ]


def test_set_access(org, roles, eve):
    body = {"roles": [roles.support.pk], "permissions": ["organisation.view_company"]}

    response = eve.call("put", f"/api/users/{org.ed.pk}/access", body)

    assert response.status_code == 200
    assert [role["name"] for role in response.json()["roles"]] == ["Support"]
    assert response.json()["permissions"] == ["organisation.view_company"]
    event = assert_api_event("user.access", eve, "user", org.ed.pk)
    assert (event.details["roles_added"], event.details["roles_removed"]) == (["Support"], ["East ops"])


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"roles": "all", "permissions": []}, {"roles"}),
        ({"roles": [0], "permissions": []}, {"roles.0"}),
        ({"roles": [2**63], "permissions": []}, {"roles.0"}),
        ({"roles": [999_999], "permissions": []}, {"roles"}),
        ({"roles": [], "permissions": ["core.unlock_accounts"]}, {"permissions"}),
        ({"roles": [], "permissions": ["x\x00"]}, {"permissions"}),
        ({"permissions": []}, {"roles"}),
    ],
)
def test_set_access_refuses_bad_values_with_field_errors(org, roles, eve, body, fields):
    assert_error(eve.call("put", f"/api/users/{org.ed.pk}/access", body), 422, fields)
    assert list(org.ed.groups.all()) == [roles.east_ops]


def test_a_role_of_another_company_cannot_be_assigned(org, roles, eve):
    body = {"roles": [roles.west_ops.pk], "permissions": []}

    assert_error(eve.call("put", f"/api/users/{org.ed.pk}/access", body), 422, {"roles"})


def test_access_of_a_user_beyond_scope_is_404_and_ones_own_is_403(org, eve):
    assert_error(eve.call("get", f"/api/users/{org.walt.pk}/access"), 404)
    assert_error(eve.call("put", f"/api/users/{org.walt.pk}/access", {"roles": [], "permissions": []}), 404)
    assert_error(eve.call("get", f"/api/users/{org.eve.pk}/access"), 403)
    assert_error(eve.call("put", f"/api/users/{org.eve.pk}/access", {"roles": [], "permissions": []}), 403)


def test_setting_access_needs_a_recent_login_in_a_browser(org, roles, eve_browser):
    body = {"roles": [], "permissions": []}
    go_stale(eve_browser)

    assert eve_browser.call("get", f"/api/users/{org.ed.pk}/access").status_code == 200
    assert_error(eve_browser.call("put", f"/api/users/{org.ed.pk}/access", body), 403)
    assert list(org.ed.groups.all()) == [roles.east_ops]
