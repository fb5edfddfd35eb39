"""Companies as data scope: a company admin sees and manages their company and its subsidiaries, nothing else.

The tree used throughout: Root → (East, West), East → East-Sub. The company admin
belongs to East and holds every user permission, so each refusal below is the
scope at work (404, as for a user that does not exist), not a missing permission.
"""

from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts import services
from accounts.models import User
from core.audit import Origin
from core.models import AuditEvent
from organisation import scope
from organisation import selectors as organisation_selectors
from organisation import services as organisation_services
from organisation.models import Company
from tests.factories import AdminFactory, UserFactory
from tests.integration.api_script import Browser, Script, assert_error
from tests.integration.conftest import (
    NEW_PASSWORD,
    audit_details,
    events,
    field_block,
    grant,
    logged_in_client,
    nav_labels,
    session_exists,
    session_key_of,
)
from tokens.models import AccessToken
from tokens.services import token_create
from usersessions.models import UserSession

pytestmark = pytest.mark.django_db

COMPANY_ADMIN_PERMISSIONS = (
    "accounts.view_user",
    "accounts.add_user",
    "accounts.change_user",
    "accounts.delete_user",
    "tokens.manage_others_tokens",
    "tokens.create_others_tokens",
    "mfa.reset_two_factor",
    "passkeys.manage_others_passkeys",
    "organisation.view_company",
    "organisation.add_company",
    "organisation.change_company",
    "organisation.delete_company",
)


def _usernames(page):
    return sorted(user.username for user in page)


def _snapshot():
    """Everything a refused request must leave as it was."""
    return (
        list(User.objects.order_by("pk").values()),
        list(Company.objects.order_by("pk").values()),
        list(UserSession.objects.order_by("pk").values_list("session_key", flat=True)),
        list(AccessToken.objects.order_by("pk").values_list("pk", "name", "expires_at")),
    )


@pytest.fixture
def org(db):
    """The tree and its people; ``east_admin`` manages East and East-Sub."""
    root = Company.objects.create(name="Root")
    east = Company.objects.create(name="East", parent=root)
    west = Company.objects.create(name="West", parent=root)
    east_sub = Company.objects.create(name="East-Sub", parent=east)
    east_admin = grant(UserFactory(username="eve", company=east), *COMPANY_ADMIN_PERMISSIONS)
    return SimpleNamespace(
        root=root,
        east=east,
        west=west,
        east_sub=east_sub,
        east_admin=east_admin,
        east_user=UserFactory(username="ed", company=east),
        east_sub_user=UserFactory(username="esther", company=east_sub),
        west_user=UserFactory(username="walt", company=west),
        root_user=UserFactory(username="rita", company=root),
        staff=UserFactory(username="stan"),  # no company: panel staff
    )


@pytest.fixture
def east_browser(org):
    return logged_in_client(org.east_admin)


@pytest.fixture
def east_script(org):
    return Script.of(org.east_admin)


# Reads: the list, one user, the company filter


def test_user_list_shows_only_the_users_of_the_admins_company_and_its_subsidiaries(org, east_browser):
    response = east_browser.get("/users/")

    assert response.status_code == 200
    assert _usernames(response.context["page"]) == ["ed", "esther", "eve"]
    body = response.content.decode()
    for outsider in ("walt", "rita", "stan"):
        assert outsider not in body
    assert "3 users</p>" in body


def test_user_list_company_tree_shows_only_companies_in_scope(org, east_browser):
    tree = east_browser.get("/users/").context["companies"]

    assert [(company.name, depth) for company, depth in tree] == [("East", 0), ("East-Sub", 1)]


def test_user_list_filtered_by_a_subsidiary_shows_its_users_only(org, east_browser):
    response = east_browser.get("/users/", {"company": org.east_sub.pk})

    assert response.status_code == 200
    assert _usernames(response.context["page"]) == ["esther"]


@pytest.mark.parametrize("company", ["west", "root"])
def test_user_list_filtered_by_a_company_out_of_scope_is_404(org, east_browser, company):
    assert east_browser.get("/users/", {"company": getattr(org, company).pk}).status_code == 404


def test_user_list_search_does_not_reach_out_of_scope(org, east_browser):
    assert list(east_browser.get("/users/", {"q": "walt"}).context["page"]) == []


def test_api_list_shows_only_users_in_scope(org, east_script):
    response = east_script.call("get", "/api/users", size=100)

    assert response.status_code == 200
    body = response.json()
    assert sorted(item["username"] for item in body["items"]) == ["ed", "esther", "eve"]
    assert body["total"] == 3


def test_api_list_search_does_not_reach_out_of_scope(org, east_script):
    body = east_script.call("get", "/api/users", search="walt").json()

    assert (body["total"], body["items"]) == (0, [])


def test_api_shows_a_user_in_scope_with_company_and_parent(org, east_script):
    response = east_script.call("get", f"/api/users/{org.east_sub_user.pk}")

    assert response.status_code == 200
    assert response.json()["company_id"] == org.east_sub.pk


# Every page about a West user is a 404 for the East admin


def _west_pages(org):
    west = org.west_user
    session = UserSession.objects.get(user=west)
    return [
        ("get", f"/users/{west.pk}/username/", {}),
        ("get", f"/users/{west.pk}/email/edit/", {}),
        ("post", f"/users/{west.pk}/username/edit/", {"value": "hijacked"}),
        ("post", f"/users/{west.pk}/email/edit/", {"value": "hijacked@example.com"}),
        ("get", f"/users/{west.pk}/password/", {}),
        ("post", f"/users/{west.pk}/password/", {"password": NEW_PASSWORD}),
        ("get", f"/users/{west.pk}/expiry/", {}),
        ("post", f"/users/{west.pk}/expiry/", {"expires_at": "2099-01-01T00:00"}),
        ("post", f"/users/{west.pk}/expiry/", {"expires_at": "2099-01-01T00:00", "whole_company": "on"}),
        ("get", f"/users/{west.pk}/session-policy/", {}),
        ("post", f"/users/{west.pk}/session-policy/", {"exclusive_login": "on"}),
        ("get", f"/users/{west.pk}/company/", {}),
        ("post", f"/users/{west.pk}/company/", {"company": org.east.pk}),
        ("get", f"/users/{west.pk}/access/", {}),
        ("post", f"/users/{west.pk}/access/", {"permissions": ["accounts.view_user"]}),
        ("get", f"/users/{west.pk}/sessions/", {}),
        ("post", f"/users/{west.pk}/sessions/end-all/", {}),
        ("post", f"/users/{west.pk}/sessions/{session.pk}/end/", {}),
        ("get", f"/users/{west.pk}/delete/", {}),
        ("post", f"/users/{west.pk}/delete/", {}),
        ("get", f"/users/{west.pk}/tokens/", {}),
        ("post", f"/users/{west.pk}/tokens/new/", {"name": "stolen", "long_term": "on"}),
        ("get", f"/users/{west.pk}/two-factor/", {}),
        ("get", f"/users/{west.pk}/passkeys/", {}),
        ("get", "/users/new/", {"parent": west.pk}),
        ("post", f"/users/new/?parent={west.pk}", {"username": "spy", "email": "spy@example.com"}),
        ("get", "/users/new/", {"company": org.west.pk}),
        # The admin's own session list does not end another user's session either.
        ("post", f"/users/{org.east_admin.pk}/sessions/{session.pk}/end/", {}),
    ]


def test_every_page_about_a_user_out_of_scope_is_404_and_changes_nothing(org, east_browser):
    west_browser = logged_in_client(org.west_user)
    pages = _west_pages(org)
    before = _snapshot()

    answers = [(method, path, getattr(east_browser, method)(path, data).status_code) for method, path, data in pages]

    assert [answer for answer in answers if answer[2] != 404] == []
    assert _snapshot() == before
    assert session_exists(session_key_of(west_browser))
    assert west_browser.get("/account/").status_code == 200
    assert not AuditEvent.objects.filter(actor=org.east_admin).exists()


def test_the_same_pages_about_a_user_in_a_subsidiary_are_open(org, east_browser):
    sub = org.east_sub_user
    for path in (
        f"/users/{sub.pk}/username/",
        f"/users/{sub.pk}/password/",
        f"/users/{sub.pk}/expiry/",
        f"/users/{sub.pk}/session-policy/",
        f"/users/{sub.pk}/access/",
        f"/users/{sub.pk}/company/",
        f"/users/{sub.pk}/sessions/",
        f"/users/{sub.pk}/delete/",
        f"/users/{sub.pk}/tokens/",
        f"/users/{sub.pk}/two-factor/",
        f"/users/{sub.pk}/passkeys/",
        f"/users/new/?parent={sub.pk}",
    ):
        assert east_browser.get(path).status_code == 200, path


def test_guessing_user_ids_finds_nothing_out_of_scope(org, east_browser, east_script):
    """Sequential IDs, those of other companies' users and ones that do not exist all answer the same 404."""
    in_scope = {org.east_admin.pk, org.east_user.pk, org.east_sub_user.pk}
    highest = User.objects.order_by("-pk").values_list("pk", flat=True)[0]
    # PostgreSQL does not reuse IDs that rolled-back tests took: start near the users that exist.
    lowest = User.objects.order_by("pk").values_list("pk", flat=True)[0]
    missing_body = east_script.call("get", f"/api/users/{highest + 1000}").content

    for pk in range(max(1, lowest - 3), highest + 4):
        expected = 200 if pk in in_scope else 404
        for path in (f"/users/{pk}/password/", f"/users/{pk}/delete/", f"/users/{pk}/access/"):
            # Nobody changes their own access: someone else who may manage them must (403).
            own_access = pk == org.east_admin.pk and path.endswith("/access/")
            assert east_browser.get(path).status_code == (403 if own_access else expected), path
        api = east_script.call("get", f"/api/users/{pk}")
        assert api.status_code == expected, pk
        if expected == 404:
            assert api.content == missing_body


def test_without_the_permission_guessed_ids_are_403_whether_in_scope_or_not(org):
    """self_or_permitted refuses before looking: no ID, in scope or not, tells anything."""
    viewer = logged_in_client(grant(UserFactory(company=org.east), "accounts.view_user"))

    for user in (org.east_user, org.west_user):
        assert viewer.get(f"/users/{user.pk}/password/").status_code == 403
        assert viewer.get(f"/users/{user.pk}/sessions/").status_code == 403
        assert viewer.get(f"/users/{user.pk}/tokens/").status_code == 403
    assert viewer.get("/users/999999/password/").status_code == 403


# The API: every call about a West user is a 404


def test_every_api_call_about_a_user_out_of_scope_is_404_and_changes_nothing(org, east_script):
    west = org.west_user
    east_browser_api = Browser.of(org.east_admin)
    west_token, _secret = token_create(origin=Origin.command("pytest"), user=west, long_term=True)
    calls = [
        ("get", f"/api/users/{west.pk}", None),
        ("patch", f"/api/users/{west.pk}", {"username": "hijacked"}),
        ("patch", f"/api/users/{west.pk}", {"expires_at": "2099-01-01T00:00:00Z"}),
        ("delete", f"/api/users/{west.pk}", None),
        ("get", f"/api/users/{west.pk}/tokens", None),
        ("patch", f"/api/users/{west.pk}/tokens/{west_token.pk}", {"name": "renamed"}),
        ("delete", f"/api/users/{west.pk}/tokens/{west_token.pk}", None),
        ("get", f"/api/users/{west.pk}/two-factor", None),
        ("get", f"/api/users/{west.pk}/passkeys", None),
        ("delete", f"/api/users/{west.pk}/passkeys/1", None),
        # Through the admin's own user ID, another user's token is still not found.
        ("delete", f"/api/users/{org.east_admin.pk}/tokens/{west_token.pk}", None),
    ]
    before = _snapshot()

    for method, path, body in calls:
        response = east_script.call(method, path, body) if body is not None else east_script.call(method, path)
        assert_error(response, 404)
    # Credentials change only from a browser session (a token is refused them outright): the same 404 there.
    for method, path, body in [
        ("put", f"/api/users/{west.pk}/password", {"password": NEW_PASSWORD}),
        ("post", f"/api/users/{west.pk}/tokens", {"name": "stolen", "long_term": True}),
    ]:
        assert_error(east_browser_api.call(method, path, body), 404)

    assert _snapshot() == before
    assert not AuditEvent.objects.filter(actor=org.east_admin).exclude(action="token.create").exists()


def test_api_calls_about_a_user_in_a_subsidiary_work(org, east_script):
    sub = org.east_sub_user

    assert east_script.call("patch", f"/api/users/{sub.pk}", {"email": "esther@east.example"}).status_code == 200
    assert east_script.call("get", f"/api/users/{sub.pk}/tokens").status_code == 200
    assert east_script.call("get", f"/api/users/{sub.pk}/two-factor").status_code == 200
    assert east_script.call("get", f"/api/users/{sub.pk}/passkeys").status_code == 200
    browser_api = Browser.of(org.east_admin)  # credentials change only from a browser session
    assert browser_api.call("put", f"/api/users/{sub.pk}/password", {"password": NEW_PASSWORD}).status_code == 204
    assert east_script.call("delete", f"/api/users/{sub.pk}").status_code == 204
    assert not User.objects.filter(pk=sub.pk).exists()


# Creating users: only in scope


def test_create_user_in_a_subsidiary_works(org, east_browser):
    response = east_browser.post(
        "/users/new/",
        {"username": "newbie", "email": "newbie@example.com", "password": NEW_PASSWORD, "company": org.east_sub.pk},
    )

    assert response.status_code == 302
    assert User.objects.get(username="newbie").company == org.east_sub
    (event,) = events("user.create")
    assert audit_details(event)["company"] == "East-Sub"


@pytest.mark.parametrize("company", ["west", "root"])
def test_create_user_in_a_company_out_of_scope_is_a_form_error(org, east_browser, company):
    form = {"username": "spy", "email": "spy@example.com", "password": NEW_PASSWORD}

    response = east_browser.post("/users/new/", {**form, "company": getattr(org, company).pk})

    assert response.status_code == 400
    assert "has-error" in field_block(response, "company")
    assert not User.objects.filter(username="spy").exists()


def test_create_user_without_a_company_is_a_form_error_for_a_company_admin(org, east_browser):
    response = east_browser.post(
        "/users/new/", {"username": "spy", "email": "spy@example.com", "password": NEW_PASSWORD, "company": ""}
    )

    assert response.status_code == 400
    assert "has-error" in field_block(response, "company")
    assert not User.objects.filter(username="spy").exists()


def test_create_user_form_offers_only_companies_in_scope(org, east_browser):
    block = field_block(east_browser.get("/users/new/"), "company")

    assert "East-Sub" in block
    assert "West" not in block
    assert "Root" not in block
    assert "No company" not in block


def test_create_sub_user_of_a_user_out_of_scope_is_a_form_error(org, east_browser):
    form = {"username": "spy", "email": "spy@example.com", "password": NEW_PASSWORD}

    response = east_browser.post("/users/new/", {**form, "company": org.east.pk, "parent": org.west_user.pk})

    assert response.status_code == 400
    assert not User.objects.filter(username="spy").exists()


def test_service_refuses_to_place_a_user_out_of_scope(org):
    origin = Origin(actor=org.east_admin)

    with pytest.raises(ValidationError) as refused:
        services.user_create(
            origin=origin, username="spy", email="spy@example.com", password=NEW_PASSWORD, company=org.west
        )

    assert set(refused.value.message_dict) == {"company"}
    assert not User.objects.filter(username="spy").exists()
    assert not events("user.create")


def test_service_refuses_no_company_for_a_company_admin(org):
    with pytest.raises(ValidationError) as refused:
        services.user_create(
            origin=Origin(actor=org.east_admin), username="spy", email="spy@example.com", password=NEW_PASSWORD
        )

    assert refused.value.message_dict["company"] == ["Choose a company."]


def test_api_create_in_a_company_out_of_scope_is_422(org, east_script):
    body = {"username": "spy", "email": "spy@example.com", "password": NEW_PASSWORD, "company_id": org.west.pk}

    assert_error(east_script.call("post", "/api/users", body), 422, fields={"company_id"})
    assert not User.objects.filter(username="spy").exists()


def test_api_create_under_a_parent_out_of_scope_is_422(org, east_script):
    body = {"username": "spy", "email": "spy@example.com", "password": NEW_PASSWORD, "parent_id": org.west_user.pk}

    assert_error(east_script.call("post", "/api/users", body), 422, fields={"parent_id"})
    assert not User.objects.filter(username="spy").exists()


def test_api_create_without_a_company_is_422_for_a_company_admin(org, east_script):
    body = {"username": "spy", "email": "spy@example.com", "password": NEW_PASSWORD}

    assert_error(east_script.call("post", "/api/users", body), 422, fields={"company"})
    assert not User.objects.filter(username="spy").exists()


@pytest.mark.parametrize("body", [{"company_id": None}, {"company_id": "west"}, {"parent_id": "west_user"}])
def test_api_update_does_not_move_a_user_to_another_company(org, east_script, body):
    body = {key: getattr(org, value).pk if value else None for key, value in body.items()}

    response = east_script.call("patch", f"/api/users/{org.east_user.pk}", body)

    assert response.status_code in (200, 422), response.content
    user = User.objects.get(pk=org.east_user.pk)
    assert (user.company, user.parent) == (org.east, None)


def test_api_create_in_a_subsidiary_works(org, east_script):
    body = {
        "username": "newbie",
        "email": "newbie@example.com",
        "password": NEW_PASSWORD,
        "company_id": org.east_sub.pk,
    }

    response = east_script.call("post", "/api/users", body)

    assert response.status_code == 201, response.content
    assert response.json()["company_id"] == org.east_sub.pk


# Moving users: only within scope


def test_move_a_user_with_its_sub_users_within_scope(org, east_browser):
    sub = UserFactory(username="edsub", company=org.east, parent=org.east_user)

    response = east_browser.post(f"/users/{org.east_user.pk}/company/", {"company": org.east_sub.pk})

    assert response.status_code == 302
    assert User.objects.get(pk=org.east_user.pk).company == org.east_sub
    assert User.objects.get(pk=sub.pk).company == org.east_sub
    (event,) = events("user.move")
    assert (event.actor, event.target_name) == (org.east_admin, "ed")
    assert audit_details(event) == {"from": "East", "to": "East-Sub", "sub_users_moved": 1}


def test_move_form_offers_only_companies_in_scope(org, east_browser):
    block = field_block(east_browser.get(f"/users/{org.east_user.pk}/company/"), "company")

    assert ">East<" in block and ">East-Sub<" in block
    assert "West" not in block and "Root" not in block and "No company" not in block


@pytest.mark.parametrize("company", ["west", "root", None])
def test_moving_a_user_out_of_scope_is_a_form_error(org, east_browser, company):
    company_pk = getattr(org, company).pk if company else ""
    sub = UserFactory(username="edsub", company=org.east, parent=org.east_user)

    response = east_browser.post(f"/users/{org.east_user.pk}/company/", {"company": company_pk})

    assert response.status_code == 400
    assert "has-error" in field_block(response, "company")
    assert User.objects.get(pk=org.east_user.pk).company == org.east
    assert User.objects.get(pk=sub.pk).company == org.east
    assert not events("user.move")


@pytest.mark.parametrize("company", ["west", None])
def test_service_refuses_to_move_a_user_out_of_scope(org, company):
    with pytest.raises(ValidationError) as refused:
        services.user_move(
            origin=Origin(actor=org.east_admin), user=org.east_user, company=getattr(org, company) if company else None
        )

    assert set(refused.value.message_dict) == {"company"}
    assert User.objects.get(pk=org.east_user.pk).company == org.east


def test_a_sub_user_moves_only_with_its_parent(org, east_browser):
    sub = UserFactory(username="edsub", company=org.east, parent=org.east_user)

    response = east_browser.post(f"/users/{sub.pk}/company/", {"company": org.east_sub.pk})

    assert response.status_code == 400
    assert "A sub-user moves with its parent user, ed." in response.context["form"].errors["company"]
    assert User.objects.get(pk=sub.pk).company == org.east


def test_moving_a_user_out_of_the_admins_scope_hides_it_from_them(org, admin_client, east_browser):
    response = admin_client.post(f"/users/{org.east_user.pk}/company/", {"company": org.west.pk})

    assert response.status_code == 302
    assert east_browser.get(f"/users/{org.east_user.pk}/password/").status_code == 404
    assert "ed" not in _usernames(east_browser.get("/users/").context["page"])


def test_staff_may_move_a_user_to_no_company(org, admin_client):
    response = admin_client.post(f"/users/{org.west_user.pk}/company/", {"company": ""})

    assert response.status_code == 302
    assert User.objects.get(pk=org.west_user.pk).company is None


# Superusers and company-less staff see everything


def test_company_less_staff_see_every_user_and_company(org):
    staff = logged_in_client(grant(org.staff, "accounts.view_user", "organisation.view_company"))

    users = staff.get("/users/").context["page"]
    companies = staff.get("/companies/").context["page"]

    # Every user but eve, who holds permissions stan lacks (the power rule).
    assert _usernames(users) == ["ed", "esther", "rita", "stan", "walt"]
    assert [company.name for company, _depth in companies] == ["Root", "East", "East-Sub", "West"]
    assert staff.get("/users/", {"company": org.west.pk}).status_code == 200


def test_a_superuser_in_a_company_still_sees_everything(org):
    boss = AdminFactory(username="boss", company=org.east_sub)
    browser = logged_in_client(boss)

    assert "walt" in _usernames(browser.get("/users/").context["page"])
    assert browser.get(f"/users/{org.west_user.pk}/password/").status_code == 200
    assert scope.company_ids(boss) is None


def test_staff_may_create_a_user_anywhere_or_without_a_company(org):
    staff = logged_in_client(grant(org.staff, "accounts.view_user", "accounts.add_user"))
    form = {"email": "x@example.com", "password": NEW_PASSWORD}

    assert staff.post("/users/new/", {**form, "username": "inwest", "company": org.west.pk}).status_code == 302
    assert staff.post("/users/new/", {**form, "username": "nowhere", "company": ""}).status_code == 302
    assert User.objects.get(username="inwest").company == org.west
    assert User.objects.get(username="nowhere").company is None


# Company pages


def test_company_list_shows_only_the_subtree_in_scope(org, east_browser):
    response = east_browser.get("/companies/")

    assert response.status_code == 200
    assert [(company.name, depth) for company, depth in response.context["page"]] == [
        ("East", 0),
        ("East-Sub", 1),
    ]
    assert "West" not in response.content.decode()


def test_company_list_counts_users_per_company(org, east_browser):
    counts = {company.name: company.user_count for company, _ in east_browser.get("/companies/").context["page"]}

    assert counts == {"East": 2, "East-Sub": 1}


def test_create_a_subsidiary_within_scope(org, east_browser):
    response = east_browser.post("/companies/new/", {"name": "East-Two", "parent": org.east.pk})

    assert response.status_code == 302
    created = Company.objects.get(name="East-Two")
    assert created.parent == org.east
    (event,) = events("company.create")
    assert (event.actor, event.target_name, audit_details(event)) == (org.east_admin, "East-Two", {"parent": "East"})


def test_add_subsidiary_link_preselects_the_parent(org, east_browser):
    response = east_browser.get("/companies/new/", {"parent": org.east_sub.pk})

    assert response.status_code == 200
    assert response.context["form"].initial["parent"] == org.east_sub


@pytest.mark.parametrize("company", ["west", "root"])
def test_add_subsidiary_page_of_a_company_out_of_scope_is_404(org, east_browser, company):
    assert east_browser.get("/companies/new/", {"parent": getattr(org, company).pk}).status_code == 404


@pytest.mark.parametrize("parent", ["west", "root", None])
def test_create_a_company_out_of_scope_is_a_form_error(org, east_browser, parent):
    parent_pk = getattr(org, parent).pk if parent else ""

    response = east_browser.post("/companies/new/", {"name": "Rogue", "parent": parent_pk})

    assert response.status_code == 400
    assert "has-error" in field_block(response, "parent")
    assert not Company.objects.filter(name="Rogue").exists()
    assert not events("company.create")


def test_service_refuses_a_company_out_of_scope(org):
    origin = Origin(actor=org.east_admin)

    for parent in (org.west, None):
        with pytest.raises(ValidationError) as refused:
            organisation_services.company_create(origin=origin, name="Rogue", parent=parent)
        assert set(refused.value.message_dict) == {"parent"}
    assert not Company.objects.filter(name="Rogue").exists()


def test_superuser_creates_a_top_level_company(org, admin_client):
    response = admin_client.post("/companies/new/", {"name": "North", "parent": ""})

    assert response.status_code == 302
    assert Company.objects.get(name="North").parent is None


def test_company_names_are_unique_among_siblings_ignoring_case(org, east_browser):
    response = east_browser.post("/companies/new/", {"name": "east-sub", "parent": org.east.pk})

    assert response.status_code == 400
    assert "already exists under East" in field_block(response, "name")


def test_rename_a_company_in_scope(org, east_browser):
    response = east_browser.post(
        f"/companies/{org.east_sub.pk}/edit/", {"name": "East-Subsidiary", "parent": org.east.pk}
    )

    assert response.status_code == 302
    assert Company.objects.get(pk=org.east_sub.pk).name == "East-Subsidiary"
    (event,) = events("company.update")
    assert audit_details(event) == {"changes": {"name": {"from": "East-Sub", "to": "East-Subsidiary"}}}


def test_move_a_company_within_scope(org, east_browser):
    east_two = Company.objects.create(name="East-Two", parent=org.east)

    response = east_browser.post(f"/companies/{org.east_sub.pk}/edit/", {"name": "East-Sub", "parent": east_two.pk})

    assert response.status_code == 302
    assert Company.objects.get(pk=org.east_sub.pk).parent == east_two
    (event,) = events("company.update")
    assert audit_details(event) == {"changes": {"parent": {"from": "East", "to": "East-Two"}}}


@pytest.mark.parametrize("parent", ["west", "root", None])
def test_moving_a_company_out_of_scope_is_a_form_error(org, east_browser, parent):
    parent_pk = getattr(org, parent).pk if parent else ""

    response = east_browser.post(f"/companies/{org.east_sub.pk}/edit/", {"name": "East-Sub", "parent": parent_pk})

    assert response.status_code == 400
    assert "has-error" in field_block(response, "parent")
    assert Company.objects.get(pk=org.east_sub.pk).parent == org.east
    assert not events("company.update")


def test_service_refuses_to_move_a_company_out_of_scope(org):
    for parent in (org.west, None):
        with pytest.raises(ValidationError) as refused:
            organisation_services.company_update(
                origin=Origin(actor=org.east_admin), company=org.east_sub, name="East-Sub", parent=parent
            )
        assert set(refused.value.message_dict) == {"parent"}
    assert Company.objects.get(pk=org.east_sub.pk).parent == org.east


@pytest.mark.parametrize("target", ["east", "east_sub"])
def test_moving_a_company_into_its_own_subtree_is_a_form_error(org, admin_client, target):
    target = getattr(org, target)

    response = admin_client.post(f"/companies/{org.east.pk}/edit/", {"name": "East", "parent": target.pk})

    assert response.status_code == 400
    assert "has-error" in field_block(response, "parent")
    assert Company.objects.get(pk=org.east.pk).parent == org.root
    assert not events("company.update")


def test_move_form_does_not_offer_the_company_or_its_subtree(org, admin_client):
    block = field_block(admin_client.get(f"/companies/{org.east.pk}/edit/"), "parent")

    assert ">West<" in block and ">Root<" in block
    assert ">East<" not in block and ">East-Sub<" not in block


@pytest.mark.parametrize("target", ["east", "east_sub"])
def test_service_refuses_a_move_into_the_companys_own_subtree(org, origin, target):
    with pytest.raises(ValidationError) as refused:
        organisation_services.company_update(origin=origin, company=org.east, name="East", parent=getattr(org, target))

    assert "cannot move under" in refused.value.message_dict["parent"][0]
    assert Company.objects.get(pk=org.east.pk).parent == org.root


def test_superuser_moves_a_company_to_the_top_and_under_another(org, admin_client):
    assert admin_client.post(f"/companies/{org.east.pk}/edit/", {"name": "East", "parent": ""}).status_code == 302
    assert Company.objects.get(pk=org.east.pk).parent is None

    response = admin_client.post(f"/companies/{org.east.pk}/edit/", {"name": "East", "parent": org.west.pk})
    assert response.status_code == 302
    assert Company.objects.get(pk=org.east.pk).parent == org.west


def test_moving_a_company_moves_its_users_into_the_new_parents_scope(org, admin_client):
    west_admin = grant(UserFactory(username="wanda", company=org.west), "accounts.view_user")
    before = _usernames(logged_in_client(west_admin).get("/users/").context["page"])

    admin_client.post(f"/companies/{org.east_sub.pk}/edit/", {"name": "East-Sub", "parent": org.west.pk})

    after = _usernames(logged_in_client(west_admin).get("/users/").context["page"])
    assert "esther" not in before
    assert "esther" in after
    assert "esther" not in _usernames(logged_in_client(org.east_admin).get("/users/").context["page"])


@pytest.mark.parametrize("page", ["edit", "delete"])
def test_company_pages_of_a_company_out_of_scope_are_404(org, east_browser, page):
    for company in (org.west, org.root):
        assert east_browser.get(f"/companies/{company.pk}/{page}/").status_code == 404
        assert east_browser.post(f"/companies/{company.pk}/{page}/", {"name": "X", "cascade": "on"}).status_code == 404
    assert Company.objects.filter(pk__in=[org.west.pk, org.root.pk]).count() == 2
    assert Company.objects.get(pk=org.west.pk).name == "West"


# Deleting companies


def test_delete_confirmation_names_every_subsidiary_and_user(org, admin_client):
    response = admin_client.get(f"/companies/{org.east.pk}/delete/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "1 subsidiary: East-Sub" in body
    assert "3 users, who can no longer log in: ed, esther, eve" in body


def test_delete_without_the_cascade_is_refused_while_it_holds_users_or_subsidiaries(org, admin_client):
    before = _snapshot()

    response = admin_client.post(f"/companies/{org.east.pk}/delete/")

    assert response.status_code == 409
    body = response.content.decode()
    assert "East still holds 3 users and 1 subsidiary" in body
    assert "East-Sub" in body and "esther" in body
    assert _snapshot() == before
    assert not events("company.delete")


def test_delete_without_the_cascade_is_refused_for_a_company_with_only_a_subsidiary(org, admin_client):
    parent = Company.objects.create(name="Holding")
    Company.objects.create(name="Shell", parent=parent)

    response = admin_client.post(f"/companies/{parent.pk}/delete/")

    assert response.status_code == 409
    assert "Holding still holds 0 users and 1 subsidiary" in response.content.decode()
    assert Company.objects.filter(pk=parent.pk).exists()


def test_delete_an_empty_company(org, admin_client, admin_user):
    empty = Company.objects.create(name="Empty", parent=org.west)

    response = admin_client.post(f"/companies/{empty.pk}/delete/")

    assert response.status_code == 302
    assert not Company.objects.filter(pk=empty.pk).exists()
    (event,) = events("company.delete")
    assert (event.actor, event.target_name, event.outcome) == (admin_user, "Empty", AuditEvent.Outcome.SUCCESS)
    assert audit_details(event) == {"subsidiaries_deleted": 0, "users_deleted": 0, "sessions_ended": 0}


def test_cascade_deletes_the_subtree_and_its_users_and_ends_their_sessions(org, admin_client):
    browsers = [logged_in_client(user) for user in (org.east_user, org.east_sub_user, org.east_admin)]
    keys = [session_key_of(browser) for browser in browsers]
    west_browser = logged_in_client(org.west_user)

    response = admin_client.post(f"/companies/{org.east.pk}/delete/", {"cascade": "on"})

    assert response.status_code == 302
    assert not Company.objects.filter(pk__in=[org.east.pk, org.east_sub.pk]).exists()
    assert set(Company.objects.values_list("name", flat=True)) == {"Root", "West"}
    assert not User.objects.filter(username__in=["ed", "esther", "eve"]).exists()
    assert not any(session_exists(key) for key in keys)
    assert not UserSession.objects.filter(session_key__in=keys).exists()
    assert all(browser.get("/account/")["Location"].startswith("/login/") for browser in browsers)
    assert west_browser.get("/account/").status_code == 200
    (event,) = events("company.delete")
    assert audit_details(event) == {"subsidiaries_deleted": 1, "users_deleted": 3, "sessions_ended": 3}


def test_company_admin_cascades_a_subsidiary(org, east_browser):
    response = east_browser.post(f"/companies/{org.east_sub.pk}/delete/", {"cascade": "on"})

    assert response.status_code == 302
    assert not Company.objects.filter(pk=org.east_sub.pk).exists()
    assert not User.objects.filter(pk=org.east_sub_user.pk).exists()


def test_company_admin_cannot_delete_their_own_company(org, east_browser):
    before = _snapshot()

    response = east_browser.post(f"/companies/{org.east.pk}/delete/", {"cascade": "on"})

    assert response.status_code == 409
    assert "You cannot delete the company you belong to." in response.content.decode()
    assert _snapshot() == before


def test_nobody_deletes_a_company_above_their_own(org):
    boss = AdminFactory(username="boss", company=org.east_sub)
    browser = logged_in_client(boss)

    response = browser.post(f"/companies/{org.root.pk}/delete/", {"cascade": "on"})

    assert response.status_code == 409
    assert "You cannot delete the company you belong to." in response.content.decode()
    assert Company.objects.filter(pk=org.root.pk).exists()


def test_cascade_that_would_remove_the_last_user_manager_is_refused(org):
    # The only users able to manage users are in East; the operator deletes it (a page's deleter who
    # lacks change_user could not reach East's admin at all: see the next test).
    assert set(organisation_selectors.user_managers()) == {org.east_admin}
    before = _snapshot()

    with pytest.raises(services.LastUserError, match="no user able to manage users"):
        organisation_services.company_delete(origin=Origin.command("pytest"), company=org.east, cascade=True)

    assert _snapshot() == before
    (event,) = events("company.delete")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert audit_details(event) == {"reason": "no manager"}


def test_cascade_over_users_more_powerful_than_the_deleter_is_refused_naming_them(org):
    deleter = logged_in_client(grant(org.staff, "organisation.view_company", "organisation.delete_company"))
    before = _snapshot()

    response = deleter.post(f"/companies/{org.east.pk}/delete/", {"cascade": "on"})

    assert response.status_code == 409
    assert "1 account you cannot manage" in response.content.decode()
    assert _snapshot() == before


def test_cascade_is_allowed_when_a_manager_remains_elsewhere(org):
    grant(org.west_user, "accounts.change_user")
    deleter = logged_in_client(grant(org.staff, *COMPANY_ADMIN_PERMISSIONS))

    response = deleter.post(f"/companies/{org.east.pk}/delete/", {"cascade": "on"})

    assert response.status_code == 302
    assert not Company.objects.filter(pk=org.east.pk).exists()


def test_service_refuses_a_cascade_that_would_delete_every_user(db):
    only = Company.objects.create(name="Only")
    UserFactory(company=only)

    with pytest.raises(services.LastUserError) as refused:
        organisation_services.company_delete(origin=Origin.command("pytest"), company=only, cascade=True)

    assert str(refused.value) == services.LastUserError.messages["last user"]
    assert Company.objects.filter(pk=only.pk).exists()


def test_service_cascade_deletes_a_deep_subtree_leaves_first(org, origin):
    deep = org.east_sub
    for level in range(4):
        deep = Company.objects.create(name=f"Level{level}", parent=deep)
        UserFactory(company=deep)

    organisation_services.company_delete(origin=origin, company=org.east, cascade=True)

    assert set(Company.objects.values_list("name", flat=True)) == {"Root", "West"}
    assert not User.objects.filter(company__isnull=False).exclude(company__in=[org.root, org.west]).exists()


# Navigation and permissions


def test_navigation_shows_companies_only_with_view_company(org):
    with_it = logged_in_client(grant(UserFactory(company=org.east), "organisation.view_company"))
    without = logged_in_client(grant(UserFactory(company=org.east), "accounts.view_user"))

    assert "Companies" in nav_labels(with_it.get("/account/"))
    assert "Companies" not in nav_labels(without.get("/account/"))
    assert without.get("/companies/").status_code == 403
    assert with_it.get("/companies/").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("get", "/companies/", "organisation.view_company"),
        ("get", "/companies/new/", "organisation.add_company"),
        ("post", "/companies/new/", "organisation.add_company"),
        ("get", "/companies/{east_sub}/edit/", "organisation.change_company"),
        ("post", "/companies/{east_sub}/edit/", "organisation.change_company"),
        ("get", "/companies/{east_sub}/delete/", "organisation.delete_company"),
        ("post", "/companies/{east_sub}/delete/", "organisation.delete_company"),
    ],
)
def test_each_company_page_needs_its_permission(org, method, path, permission):
    everything_else = [perm for perm in COMPANY_ADMIN_PERMISSIONS if perm != permission]
    browser = logged_in_client(grant(UserFactory(company=org.east), *everything_else))
    before = _snapshot()

    response = getattr(browser, method)(
        path.format(east_sub=org.east_sub.pk), {"name": "X", "parent": org.east.pk, "cascade": "on"}
    )

    assert response.status_code == 403
    assert _snapshot() == before


def test_company_list_hides_the_actions_the_user_may_not_take(org):
    viewer = logged_in_client(grant(UserFactory(company=org.east), "organisation.view_company"))

    body = viewer.get("/companies/").content.decode()

    assert "Create Company" not in body
    assert "Add Subsidiary" not in body
    assert "Rename / Move" not in body
    assert "/delete/" not in body


def test_anonymous_visitors_are_sent_to_log_in(org):
    response = Client().get("/companies/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
