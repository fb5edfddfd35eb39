"""Roles and access: a user may do what their roles and their direct permissions add up to, and no more.

A limited admin grants only what they hold, assigns only roles within their reach and
scope, and leaves what lies beyond their reach as it was. The API is a module of its
own (accounts.use_api), held directly or through a role.
"""

import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from accounts.models import User
from core.audit import Origin
from organisation import selectors as organisation_selectors
from organisation import services as organisation_services
from organisation.models import Company, Role
from tests.factories import UserFactory
from tests.integration.api_script import Script, assert_error
from tests.integration.conftest import audit_details, events, grant, logged_in_client, nav_labels
from tokens.credentials import bearer_string
from tokens.services import token_create

pytestmark = pytest.mark.django_db

COMMAND = Origin.command("pytest")
LIMITED_ADMIN_PERMISSIONS = (
    "accounts.view_user",
    "accounts.change_user",
    "auth.view_group",
    "auth.add_group",
    "auth.change_group",
    "auth.delete_group",
)
MODULES = {
    "Users": ("accounts.view_user", "/users/"),
    "Companies": ("organisation.view_company", "/companies/"),
    "Roles": ("auth.view_group", "/roles/"),
    "Audit log": ("core.view_auditevent", "/audit/"),
}


def make_role(name, *perms, company=None):
    """A role made by an operator (who may grant anything)."""
    return organisation_services.role_create(origin=COMMAND, name=name, company=company, permissions=perms)


def fresh(user):
    """``user`` reloaded, without the permission cache of an earlier has_perm."""
    return User.objects.get(pk=user.pk)


def perms_of(user):
    return organisation_selectors.permission_names(fresh(user).user_permissions.all())


def role_perms(role):
    return organisation_selectors.permission_names(Group.objects.get(pk=role.pk).permissions.all())


def _errors_of(response, field):
    return response.context["form"].errors.get(field, [])


@pytest.fixture
def org(db):
    east = Company.objects.create(name="East")
    west = Company.objects.create(name="West")
    limited = grant(UserFactory(username="lim", company=east), *LIMITED_ADMIN_PERMISSIONS)
    return SimpleNamespace(
        east=east,
        west=west,
        limited=limited,
        target=UserFactory(username="tara", company=east),
        west_user=UserFactory(username="walt", company=west),
    )


@pytest.fixture
def limited_browser(org):
    return logged_in_client(org.limited)


# Permissions are the sum of roles and direct ones


def test_a_role_gives_its_permissions(db):
    support = make_role("Support", "accounts.view_user", "accounts.change_user")
    user = UserFactory()
    user.groups.add(support)

    user = fresh(user)
    assert user.has_perm("accounts.view_user")
    assert user.has_perm("accounts.change_user")
    assert not user.has_perm("accounts.delete_user")


def test_permissions_are_the_union_of_roles_and_direct_ones(db):
    user = grant(UserFactory(), "organisation.view_company")
    user.groups.add(make_role("Viewers", "accounts.view_user"), make_role("Auditors", "core.view_auditevent"))

    user = fresh(user)
    assert {perm for perm in ("accounts.view_user", "core.view_auditevent", "organisation.view_company")} <= (
        user.get_all_permissions()
    )
    assert not user.has_perm("accounts.add_user")


def test_access_of_names_the_source_of_each_permission(db):
    user = grant(UserFactory(), "accounts.view_user", "organisation.view_company")
    user.groups.add(make_role("Viewers", "accounts.view_user"), make_role("Readers", "accounts.view_user"))

    access = organisation_selectors.access_of(fresh(user))

    assert [role.name for role in access["roles"]] == ["Readers", "Viewers"]
    assert access["direct"] == {"accounts.view_user", "organisation.view_company"}
    assert access["effective"] == {
        "accounts.view_user": ["Readers", "Viewers", "direct"],
        "organisation.view_company": ["direct"],
    }


def test_a_role_grants_a_page_and_removing_it_takes_effect_on_the_next_request(admin_client, db):
    viewers = make_role("Viewers", "accounts.view_user")
    member = UserFactory(username="member")
    member.groups.add(viewers)
    browser = logged_in_client(member)
    assert browser.get("/users/").status_code == 200

    response = admin_client.post(f"/users/{member.pk}/access/", {"roles": [], "permissions": []})

    assert response.status_code == 302
    assert browser.get("/users/").status_code == 403


def test_deleting_a_role_takes_effect_on_the_next_request(admin_client, admin_user, db):
    viewers = make_role("Viewers", "accounts.view_user")
    member = UserFactory(username="member")
    member.groups.add(viewers)
    browser = logged_in_client(member)
    assert browser.get("/users/").status_code == 200

    response = admin_client.post(f"/roles/{viewers.pk}/delete/")

    assert response.status_code == 302
    assert not Group.objects.filter(pk=viewers.pk).exists()
    assert browser.get("/users/").status_code == 403
    (event,) = events("role.delete")
    assert (event.actor, event.target_name, audit_details(event)) == (admin_user, "Viewers", {"members": 1})


def test_removing_a_permission_from_a_role_takes_effect_on_the_next_request(admin_client, db):
    viewers = make_role("Viewers", "accounts.view_user", "organisation.view_company")
    member = UserFactory(username="member")
    member.groups.add(viewers)
    browser = logged_in_client(member)
    assert browser.get("/companies/").status_code == 200

    response = admin_client.post(
        f"/roles/{viewers.pk}/edit/", {"name": "Viewers", "company": "", "permissions": ["accounts.view_user"]}
    )

    assert response.status_code == 302
    assert browser.get("/companies/").status_code == 403
    assert browser.get("/users/").status_code == 200


def test_a_direct_permission_still_counts_once_the_role_is_gone(admin_client, db):
    member = grant(UserFactory(username="member"), "accounts.view_user")
    member.groups.add(make_role("Viewers", "accounts.view_user"))
    browser = logged_in_client(member)

    admin_client.post(f"/users/{member.pk}/access/", {"roles": [], "permissions": ["accounts.view_user"]})

    assert browser.get("/users/").status_code == 200


# Navigation follows permissions; the server refuses anyway


def test_navigation_hides_every_module_from_a_user_without_permissions(plain_user):
    browser = logged_in_client(plain_user)

    assert nav_labels(browser.get("/account/")) == []
    for _perm, path in MODULES.values():
        assert browser.get(path).status_code == 403, path


@pytest.mark.parametrize("module", sorted(MODULES))
def test_navigation_shows_a_module_only_to_its_holders_through_a_role(db, module):
    perm, path = MODULES[module]
    member = UserFactory()
    member.groups.add(make_role("Only", perm))
    browser = logged_in_client(member)

    assert nav_labels(browser.get("/account/")) == [module]
    assert browser.get(path).status_code == 200
    for other, (_perm, other_path) in MODULES.items():
        if other != module:
            assert browser.get(other_path).status_code == 403, other_path


def test_navigation_shows_every_module_in_order_to_a_full_role(db):
    member = UserFactory()
    member.groups.add(make_role("All", *(perm for perm, _path in MODULES.values())))

    labels = nav_labels(logged_in_client(member).get("/account/"))

    assert labels == ["Users", "Companies", "Roles", "Audit log"]


def test_home_sends_a_user_to_their_first_module(db):
    member = UserFactory()
    member.groups.add(make_role("Auditors", "core.view_auditevent"))

    assert logged_in_client(member).get("/")["Location"] == "/audit/"


@pytest.mark.parametrize(
    ("method", "path", "permission"),
    [
        ("get", "/roles/", "auth.view_group"),
        ("get", "/roles/new/", "auth.add_group"),
        ("post", "/roles/new/", "auth.add_group"),
        ("get", "/roles/{role}/edit/", "auth.change_group"),
        ("post", "/roles/{role}/edit/", "auth.change_group"),
        ("get", "/roles/{role}/delete/", "auth.delete_group"),
        ("post", "/roles/{role}/delete/", "auth.delete_group"),
        ("get", "/users/{target}/access/", "accounts.change_user"),
        ("post", "/users/{target}/access/", "accounts.change_user"),
    ],
)
def test_each_role_and_access_page_needs_its_permission(org, method, path, permission):
    role = make_role("Existing", "accounts.view_user", company=org.east)
    others = [perm for perm in LIMITED_ADMIN_PERMISSIONS if perm != permission]
    browser = logged_in_client(grant(UserFactory(company=org.east), *others))

    response = getattr(browser, method)(
        path.format(role=role.pk, target=org.target.pk),
        {"name": "Renamed", "company": org.east.pk, "permissions": ["accounts.view_user"], "roles": [role.pk]},
    )

    assert response.status_code == 403
    assert Group.objects.get(pk=role.pk).name == "Existing"
    assert not fresh(org.target).groups.exists()


# Nobody grants more than they hold


def test_access_form_offers_only_the_permissions_the_admin_holds(org, limited_browser):
    choices = {
        value
        for _module, options in limited_browser.get(f"/users/{org.target.pk}/access/")
        .context["form"]
        .fields["permissions"]
        .choices
        for value, _label in options
    }

    assert choices == set(LIMITED_ADMIN_PERMISSIONS)


def test_limited_admin_cannot_grant_a_permission_they_lack(org, limited_browser):
    response = limited_browser.post(
        f"/users/{org.target.pk}/access/", {"permissions": ["accounts.view_user", "core.view_auditevent"]}
    )

    assert response.status_code == 400
    assert _errors_of(response, "permissions")
    assert perms_of(org.target) == set()
    assert not events("user.access")


def test_service_refuses_to_grant_what_the_actor_lacks(org):
    with pytest.raises(ValidationError) as refused:
        organisation_services.user_set_access(
            origin=Origin(actor=org.limited), user=org.target, roles=[], permissions={"accounts.delete_user"}
        )

    assert "You cannot grant what you do not have yourself: Delete users." in refused.value.message_dict["permissions"]
    assert perms_of(org.target) == set()


def test_limited_admin_grants_what_they_hold(org, limited_browser):
    response = limited_browser.post(f"/users/{org.target.pk}/access/", {"permissions": ["accounts.view_user"]})

    assert response.status_code == 302
    assert perms_of(org.target) == {"accounts.view_user"}
    (event,) = events("user.access")
    assert event.actor == org.limited
    assert audit_details(event) == {
        "roles_added": [],
        "roles_removed": [],
        "permissions_added": ["accounts.view_user"],
        "permissions_removed": [],
    }


def test_limited_admin_cannot_assign_a_role_that_grants_more_than_they_hold(org, limited_browser):
    auditors = make_role("Auditors", "core.view_auditevent", company=org.east)

    response = limited_browser.post(f"/users/{org.target.pk}/access/", {"roles": [auditors.pk]})

    assert response.status_code == 400
    assert "The role Auditors grants more than you have." in _errors_of(response, "roles")
    assert not fresh(org.target).groups.exists()


def test_limited_admin_assigns_a_role_within_their_reach(org, limited_browser):
    viewers = make_role("Viewers", "accounts.view_user", company=org.east)

    response = limited_browser.post(f"/users/{org.target.pk}/access/", {"roles": [viewers.pk]})

    assert response.status_code == 302
    assert list(fresh(org.target).groups.all()) == [viewers]
    (event,) = events("user.access")
    assert audit_details(event)["roles_added"] == ["Viewers"]


def test_direct_permissions_beyond_the_admins_reach_stay_after_their_edit(org, limited_browser):
    """The power rule: a user holding permissions the admin lacks is beyond the admin's reach (404)."""
    target = grant(org.target, "accounts.view_user", "core.view_auditevent", "accounts.delete_user")

    response = limited_browser.post(f"/users/{target.pk}/access/", {"permissions": ["auth.view_group"]})

    assert response.status_code == 404
    assert perms_of(target) == {"accounts.view_user", "core.view_auditevent", "accounts.delete_user"}
    assert events("user.access") == []


def test_roles_of_another_companys_scope_stay_after_the_edit(org, limited_browser):
    west_role = make_role("West ops", "accounts.view_user", company=org.west)
    org.target.groups.add(west_role)

    response = limited_browser.post(f"/users/{org.target.pk}/access/", {"roles": [], "permissions": []})

    assert response.status_code == 302
    assert list(fresh(org.target).groups.all()) == [west_role]


def test_a_role_beyond_the_admins_reach_stays_and_does_not_block_the_edit(org, limited_browser):
    """The power rule: a role giving the user what the admin lacks puts the user beyond the admin's reach."""
    auditors = make_role("Auditors", "core.view_auditevent", company=org.east)
    org.target.groups.add(auditors)
    assert limited_browser.get(f"/users/{org.target.pk}/access/").status_code == 404

    response = limited_browser.post(
        f"/users/{org.target.pk}/access/", {"roles": [auditors.pk], "permissions": ["accounts.view_user"]}
    )

    assert response.status_code == 404
    assert list(fresh(org.target).groups.all()) == [auditors]
    assert perms_of(org.target) == set()


def test_role_update_keeps_the_permissions_beyond_the_editors_reach(org, limited_browser):
    mixed = make_role("Mixed", "accounts.view_user", "core.view_auditevent", company=org.east)

    response = limited_browser.post(
        f"/roles/{mixed.pk}/edit/", {"name": "Mixed", "company": org.east.pk, "permissions": ["auth.view_group"]}
    )

    assert response.status_code == 302
    assert role_perms(mixed) == {"auth.view_group", "core.view_auditevent"}
    (event,) = events("role.update")
    assert event.actor == org.limited
    assert audit_details(event) == {"name": "Mixed", "added": ["auth.view_group"], "removed": ["accounts.view_user"]}


def test_limited_admin_cannot_create_a_role_with_a_permission_they_lack(org, limited_browser):
    response = limited_browser.post(
        "/roles/new/", {"name": "Sneaky", "company": org.east.pk, "permissions": ["accounts.delete_user"]}
    )

    assert response.status_code == 400
    assert _errors_of(response, "permissions")
    assert not Group.objects.filter(name="Sneaky").exists()


def test_service_refuses_a_role_with_a_permission_the_actor_lacks(org):
    with pytest.raises(ValidationError) as refused:
        organisation_services.role_create(
            origin=Origin(actor=org.limited), name="Sneaky", company=org.east, permissions=["core.view_auditevent"]
        )

    assert set(refused.value.message_dict) == {"permissions"}
    assert not Group.objects.filter(name="Sneaky").exists()


def test_role_form_offers_only_permissions_the_admin_holds(org, limited_browser):
    choices = limited_browser.get("/roles/new/").context["form"].fields["permissions"].choices

    assert [module for module, _options in choices] == ["Users", "Roles"]


# Roles and company scope


def test_role_list_hides_roles_of_other_companies(org, limited_browser):
    make_role("East ops", "accounts.view_user", company=org.east)
    make_role("West ops", "accounts.view_user", company=org.west)
    make_role("Panel-wide", "accounts.view_user")

    response = limited_browser.get("/roles/")

    assert [role.name for role in response.context["page"]] == ["East ops", "Panel-wide"]
    assert "West ops" not in response.content.decode()


@pytest.mark.parametrize("page", ["edit", "delete"])
def test_role_pages_of_another_companys_role_are_404(org, limited_browser, page):
    west_role = make_role("West ops", "accounts.view_user", company=org.west)

    assert limited_browser.get(f"/roles/{west_role.pk}/{page}/").status_code == 404
    post = limited_browser.post(
        f"/roles/{west_role.pk}/{page}/", {"name": "Mine", "company": org.east.pk, "permissions": []}
    )
    assert post.status_code == 404
    assert Group.objects.get(pk=west_role.pk).name == "West ops"
    assert role_perms(west_role) == {"accounts.view_user"}


def test_access_form_offers_only_roles_in_scope_and_refuses_others(org, limited_browser):
    east_role = make_role("East ops", "accounts.view_user", company=org.east)
    west_role = make_role("West ops", "accounts.view_user", company=org.west)
    offered = limited_browser.get(f"/users/{org.target.pk}/access/").context["form"].fields["roles"].queryset

    response = limited_browser.post(f"/users/{org.target.pk}/access/", {"roles": [west_role.pk]})

    assert list(offered) == [east_role]
    assert response.status_code == 400
    assert _errors_of(response, "roles")
    assert not fresh(org.target).groups.exists()


def test_service_refuses_a_role_out_of_scope(org):
    west_role = make_role("West ops", "accounts.view_user", company=org.west)

    with pytest.raises(ValidationError) as refused:
        organisation_services.user_set_access(
            origin=Origin(actor=org.limited), user=org.target, roles=[west_role], permissions=()
        )

    assert refused.value.message_dict["roles"] == ["You cannot assign the role West ops."]


@pytest.mark.parametrize("company", ["west", None])
def test_a_company_admins_role_must_belong_to_a_company_in_scope(org, limited_browser, company):
    company_pk = getattr(org, company).pk if company else ""

    response = limited_browser.post("/roles/new/", {"name": "Ops", "company": company_pk, "permissions": []})

    assert response.status_code == 400
    assert _errors_of(response, "company")
    assert not Group.objects.filter(name="Ops").exists()


@pytest.mark.parametrize("company", ["west", None])
def test_service_refuses_a_role_company_out_of_scope(org, company):
    with pytest.raises(ValidationError) as refused:
        organisation_services.role_create(
            origin=Origin(actor=org.limited), name="Ops", company=getattr(org, company) if company else None
        )

    assert set(refused.value.message_dict) == {"company"}


def test_a_company_admin_creates_a_role_of_their_company(org, limited_browser):
    response = limited_browser.post(
        "/roles/new/", {"name": "East ops", "company": org.east.pk, "permissions": ["accounts.view_user"]}
    )

    assert response.status_code == 302
    role = Group.objects.get(name="East ops")
    assert role.role.company == org.east
    assert role_perms(role) == {"accounts.view_user"}
    (event,) = events("role.create")
    assert (event.actor, event.target_name) == (org.limited, "East ops")
    assert audit_details(event) == {"company": "East", "permissions": ["accounts.view_user"]}


def test_a_company_admin_cannot_delete_a_panel_wide_role_held_outside_their_scope(org, limited_browser):
    panel_role = make_role("Panel viewers", "accounts.view_user")
    org.west_user.groups.add(panel_role)

    limited_browser.post(f"/roles/{panel_role.pk}/delete/")

    assert Group.objects.filter(pk=panel_role.pk).exists()
    assert fresh(org.west_user).has_perm("accounts.view_user")


def test_deleting_a_company_deletes_its_roles(org):
    west_role = make_role("West ops", "accounts.view_user", company=org.west)

    organisation_services.company_delete(origin=COMMAND, company=org.west, cascade=True)

    assert not Group.objects.filter(pk=west_role.pk).exists()
    assert west_role.pk not in {role.pk for role in organisation_selectors.visible_roles(fresh(org.limited))}


# Role names


def test_role_names_are_unique_ignoring_case(admin_client, db):
    make_role("Support", "accounts.view_user")

    response = admin_client.post("/roles/new/", {"name": "SUPPORT", "company": "", "permissions": []})

    assert response.status_code == 400
    assert "A role named “SUPPORT” already exists." in _errors_of(response, "name")
    assert Group.objects.filter(name__iexact="support").count() == 1


def test_renaming_a_role_to_another_roles_name_in_other_case_is_refused(admin_client, db):
    make_role("Support", "accounts.view_user")
    other = make_role("Helpdesk", "accounts.view_user")

    response = admin_client.post(f"/roles/{other.pk}/edit/", {"name": "support", "company": "", "permissions": []})

    assert response.status_code == 400
    assert Group.objects.get(pk=other.pk).name == "Helpdesk"


def test_renaming_a_role_to_its_own_name_in_other_case_works(admin_client, db):
    role = make_role("Support", "accounts.view_user")

    response = admin_client.post(
        f"/roles/{role.pk}/edit/", {"name": "SUPPORT", "company": "", "permissions": ["accounts.view_user"]}
    )

    assert response.status_code == 302
    assert Group.objects.get(pk=role.pk).name == "SUPPORT"


def test_service_refuses_a_duplicate_role_name_ignoring_case(db):
    make_role("Support")

    with pytest.raises(ValidationError) as refused:
        make_role("  support ")

    assert set(refused.value.message_dict) == {"name"}


@pytest.mark.parametrize("name", ["", "   ", "x" * 151])
def test_role_name_is_required_and_limited(admin_client, db, name):
    response = admin_client.post("/roles/new/", {"name": name, "company": "", "permissions": []})

    assert response.status_code == 400
    assert _errors_of(response, "name")
    assert not Group.objects.exists()


# The access page


def test_access_page_shows_roles_direct_permissions_and_the_sum_with_sources(admin_client, db):
    support = make_role("Support", "accounts.view_user", "accounts.change_user")
    make_role("Unused", "core.view_auditevent")
    target = grant(UserFactory(username="tara"), "accounts.view_user", "organisation.view_company")
    target.groups.add(support)

    response = admin_client.get(f"/users/{target.pk}/access/")

    assert response.status_code == 200
    body = response.content.decode()
    assert re.search(rf'value="{support.pk}"[^>]*checked', body)
    assert re.search(r'value="organisation.view_company"[^>]*checked', body)
    assert not re.search(r'value="core.view_auditevent"[^>]*checked', body)
    effective = dict(response.context["effective"])
    assert effective["Users"] == [
        ("See users (the Users module)", ["Support", "direct"]),
        ("Change users: details, passwords, expiry, session policy, sessions, access", ["Support"]),
    ]
    assert effective["Companies"] == [("See companies (the Companies module)", ["direct"])]
    assert 'See users (the Users module) <span class="muted">from Support, direct</span>' in body
    assert "Audit log" not in effective


def test_access_page_of_a_user_with_nothing_says_so(admin_client, plain_user):
    body = admin_client.get(f"/users/{plain_user.pk}/access/").content.decode()

    assert "no roles and no direct permissions" in body


def test_access_page_of_a_superuser_says_everything(admin_client, db):
    boss = UserFactory(username="boss", is_superuser=True)

    response = admin_client.get(f"/users/{boss.pk}/access/")

    assert "boss is a superuser and may do everything." in response.content.decode()
    assert all(sources == ["superuser"] for _module, rows in response.context["effective"] for _label, sources in rows)


def test_access_change_is_audited_with_roles_and_permissions(admin_client, admin_user, db):
    old, new = make_role("Old"), make_role("New", "accounts.view_user")
    target = grant(UserFactory(username="tara"), "organisation.view_company")
    target.groups.add(old)

    admin_client.post(f"/users/{target.pk}/access/", {"roles": [new.pk], "permissions": ["auth.view_group"]})

    (event,) = events("user.access")
    assert (event.actor, event.target_name) == (admin_user, "tara")
    assert audit_details(event) == {
        "roles_added": ["New"],
        "roles_removed": ["Old"],
        "permissions_added": ["auth.view_group"],
        "permissions_removed": ["organisation.view_company"],
    }


def test_saving_access_unchanged_writes_no_event(admin_client, db):
    target = grant(UserFactory(), "accounts.view_user")

    response = admin_client.post(f"/users/{target.pk}/access/", {"permissions": ["accounts.view_user"]})

    assert response.status_code == 302
    assert not events("user.access")


def test_role_create_and_update_and_delete_are_audited(admin_client, admin_user, db):
    admin_client.post("/roles/new/", {"name": "Ops", "company": "", "permissions": ["accounts.view_user"]})
    role = Group.objects.get(name="Ops")
    admin_client.post(f"/roles/{role.pk}/edit/", {"name": "Operators", "company": "", "permissions": []})
    admin_client.post(f"/roles/{role.pk}/delete/")

    created, updated, deleted = events("role.create"), events("role.update"), events("role.delete")
    assert [(e.actor, e.target_name) for e in created + updated + deleted] == [
        (admin_user, "Ops"),
        (admin_user, "Operators"),
        (admin_user, "Operators"),
    ]
    assert audit_details(created[0]) == {"company": None, "permissions": ["accounts.view_user"]}
    assert audit_details(updated[0]) == {"name": "Operators", "added": [], "removed": ["accounts.view_user"]}
    assert audit_details(deleted[0]) == {"members": 0}


def test_role_list_counts_members_and_permissions(admin_client, db):
    role = make_role("Support", "accounts.view_user", "accounts.change_user")
    for _ in range(3):
        UserFactory().groups.add(role)

    (row,) = admin_client.get("/roles/").context["page"]

    assert (row.member_count, row.permission_count) == (3, 2)


# The API module


def _script_without_the_module(user):
    token, secret = token_create(origin=COMMAND, user=user, long_term=True)
    script = Script(bearer_string(token.pk, secret))
    script.user, script.token = user, token
    return script


def test_a_token_of_a_user_without_the_api_module_is_refused_even_for_user_info(db):
    user = grant(UserFactory(), "accounts.view_user")
    script = _script_without_the_module(user)

    body = assert_error(script.whoami(), 403)

    assert body["detail"] == "the token's owner may not use the API module"
    (event,) = events("token.refused")
    assert event.details["reason"] == "the token's owner may not use the API module"
    assert_error(script.call("get", "/api/users"), 403)


def test_a_token_works_with_the_api_module_given_directly(db):
    script = Script.of(UserFactory(username="scripter"))

    response = script.whoami()

    assert response.status_code == 200
    assert response.json()["username"] == "scripter"


def test_a_token_works_with_the_api_module_given_through_a_role(db):
    user = UserFactory(username="scripter")
    user.groups.add(make_role("Scripters", "accounts.use_api"))
    script = _script_without_the_module(user)

    response = script.whoami()

    assert response.status_code == 200
    assert response.json()["username"] == "scripter"


def test_a_superuser_needs_no_api_module(db):
    script = _script_without_the_module(UserFactory(is_superuser=True))

    assert script.whoami().status_code == 200


def test_removing_the_role_with_the_api_module_refuses_the_next_request(db):
    user = UserFactory()
    scripters = make_role("Scripters", "accounts.use_api")
    user.groups.add(scripters)
    script = _script_without_the_module(user)
    assert script.whoami().status_code == 200

    user.groups.remove(scripters)

    assert_error(script.whoami(), 403)


def test_deleting_the_role_with_the_api_module_refuses_the_next_request(db):
    user = UserFactory()
    scripters = make_role("Scripters", "accounts.use_api")
    user.groups.add(scripters)
    script = _script_without_the_module(user)
    assert script.whoami().status_code == 200

    organisation_services.role_delete(origin=COMMAND, role=scripters)

    assert_error(script.whoami(), 403)


def test_the_api_module_does_not_open_endpoints_without_their_own_permission(db):
    script = Script.of(UserFactory())

    assert_error(script.call("get", "/api/users"), 403)


@pytest.mark.parametrize("through", ["direct", "role", "both"])
def test_authentication_with_the_api_module_costs_one_query(db, django_assert_num_queries, through):
    user = UserFactory()
    if through in ("direct", "both"):
        grant(user, "accounts.use_api")
    if through in ("role", "both"):
        user.groups.add(make_role("Scripters", "accounts.use_api"), make_role("Others", "accounts.use_api"))
    script = _script_without_the_module(user)
    with time_machine.travel(datetime(2027, 3, 1, 12, 0, tzinfo=UTC), tick=False):
        assert script.whoami().status_code == 200  # the first use writes last_used_at

        with django_assert_num_queries(1):
            response = script.whoami()

    assert response.status_code == 200


# Bad values: 400 or 404, never 500


@pytest.mark.parametrize(
    "data",
    [
        {"permissions": ["accounts.no_such_thing"]},
        {"permissions": ["nonsense"]},
        {"permissions": ["a.b.c"]},
        {"permissions": [""]},
        {"roles": ["abc"]},
        {"roles": ["-1"]},
        {"roles": ["1.5"]},
        {"roles": ["999999"]},
        {"roles": [str(2**63)]},
        {"roles": [str(10**30)]},
    ],
)
def test_access_page_with_bad_values_is_400(org, limited_browser, data):
    response = limited_browser.post(f"/users/{org.target.pk}/access/", data)

    assert response.status_code == 400
    assert not fresh(org.target).groups.exists()
    assert perms_of(org.target) == set()


@pytest.mark.parametrize(
    "data",
    [
        {"name": "Ops", "company": "abc", "permissions": []},
        {"name": "Ops", "company": str(2**63), "permissions": []},
        {"name": "Ops", "company": str(10**30), "permissions": []},
        {"name": "Ops", "company": "", "permissions": ["accounts.no_such_thing"]},
        {"name": "Ops", "company": "", "permissions": ["nonsense"]},
    ],
)
def test_role_form_with_bad_values_is_400(admin_client, data):
    response = admin_client.post("/roles/new/", data)

    assert response.status_code == 400
    assert not Group.objects.filter(name="Ops").exists()


@pytest.mark.parametrize(
    "path",
    [
        "/roles/999999/edit/",
        "/roles/999999/delete/",
        "/roles/abc/edit/",
        f"/roles/{2**63}/edit/",
        f"/roles/{10**30}/delete/",
        "/users/abc/access/",
        "/users/999999/access/",
        f"/users/{2**63}/access/",
        f"/users/{10**30}/access/",
        "/users/?company=abc",
        f"/users/?company={2**63}",
        f"/users/?company={10**30}",
        "/users/?company=-1",
        "/users/new/?parent=abc",
        f"/users/new/?parent={10**30}",
        f"/users/new/?company={10**30}",
        f"/companies/new/?parent={10**30}",
        f"/companies/{10**30}/edit/",
    ],
)
def test_odd_ids_in_pages_are_404(admin_client, path):
    assert admin_client.get(path).status_code == 404


def test_plain_django_groups_count_as_panel_wide_roles(org, limited_browser):
    group = Group.objects.create(name="Legacy")
    assert not Role.objects.filter(group=group).exists()

    names = [role.name for role in limited_browser.get("/roles/").context["page"]]

    assert "Legacy" in names
