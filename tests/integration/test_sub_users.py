"""Sub-users: created under a parent in the parent's company, never outliving it, deleted with it.

Also the company-wide expiry, and the rule that no deletion (with its cascade of
sub-users) may leave the panel without users or without anyone able to manage users.
"""

import datetime
import re
from types import SimpleNamespace

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import selectors, services
from accounts.models import User
from core.audit import Origin
from core.models import AuditEvent
from organisation import selectors as organisation_selectors
from organisation import services as organisation_services
from organisation.models import Company
from tests.factories import AdminFactory, UserFactory
from tests.integration.api_script import Script, assert_error
from tests.integration.conftest import (
    NEW_PASSWORD,
    audit_details,
    events,
    field_block,
    grant,
    logged_in_client,
    session_exists,
    session_key_of,
)
from usersessions.models import UserSession

pytestmark = pytest.mark.django_db

COMMAND = Origin.command("pytest")


def _moment(days):
    """A whole minute ``days`` from now, as stored, and as it is typed in the expiry input."""
    moment = (timezone.now() + datetime.timedelta(days=days)).replace(second=0, microsecond=0)
    return moment, moment.strftime("%Y-%m-%d %H:%M")


def _expiry(user):
    return User.objects.get(pk=user.pk).expires_at


def _snapshot():
    return (
        list(User.objects.order_by("pk").values()),
        list(UserSession.objects.order_by("pk").values_list("session_key", flat=True)),
    )


@pytest.fixture
def acme(db):
    return Company.objects.create(name="Acme")


@pytest.fixture
def family(acme):
    """parent → (child → grandchild, sibling), all in Acme."""
    parent = UserFactory(username="parent", company=acme)
    child = UserFactory(username="child", company=acme, parent=parent)
    return SimpleNamespace(
        parent=parent,
        child=child,
        grandchild=UserFactory(username="grandchild", company=acme, parent=child),
        sibling=UserFactory(username="sibling", company=acme, parent=parent),
    )


def _sub_user_form(parent, **fields):
    """What the browser posts from "Add Sub-user": the hidden company and parent, and what the admin typed."""
    form = {
        "username": "newsub",
        "email": "newsub@example.com",
        "password": NEW_PASSWORD,
        "company": parent.company_id or "",
        "parent": parent.pk,
        "expires_at": "",
    }
    return {**form, **fields}


# Add Sub-user


def test_user_list_offers_add_sub_user_for_each_row(admin_client, acme):
    parent = UserFactory(username="parent", company=acme)

    body = admin_client.get("/users/").content.decode()

    assert f'href="/users/new/?parent={parent.pk}" data-quick-action>Add Sub-user</a>' in body


def test_user_list_has_no_add_sub_user_without_the_add_permission(acme):
    UserFactory(username="parent", company=acme)
    viewer = logged_in_client(grant(UserFactory(), "accounts.view_user"))

    assert "Add Sub-user" not in viewer.get("/users/").content.decode()


def test_add_sub_user_page_names_the_parent_and_hides_the_company(admin_client, acme):
    parent = UserFactory(username="parent", company=acme)

    response = admin_client.get("/users/new/", {"parent": parent.pk})

    assert response.status_code == 200
    body = response.content.decode()
    assert "Add a sub-user of parent" in body
    assert "belongs to Acme, like parent" in body
    assert re.search(rf'<input type="hidden" name="company" value="{acme.pk}"', body)
    assert re.search(rf'<input type="hidden" name="parent" value="{parent.pk}"', body)
    assert '<select name="company"' not in body


def test_add_sub_user_creates_it_under_the_parent_in_the_parents_company(admin_client, admin_user, acme):
    parent = UserFactory(username="parent", company=acme)

    response = admin_client.post(f"/users/new/?parent={parent.pk}", _sub_user_form(parent))

    assert response.status_code == 302
    sub = User.objects.get(username="newsub")
    assert (sub.parent, sub.company, sub.expires_at) == (parent, acme, None)
    (event,) = events("user.create")
    assert event.actor == admin_user
    assert audit_details(event) == {"superuser": False, "expires_at": None, "company": "Acme", "parent": "parent"}


def test_add_sub_user_of_a_company_less_user(admin_client):
    parent = UserFactory(username="parent")

    response = admin_client.post(f"/users/new/?parent={parent.pk}", _sub_user_form(parent))

    assert response.status_code == 302
    sub = User.objects.get(username="newsub")
    assert (sub.parent, sub.company) == (parent, None)


def test_a_sub_user_cannot_be_placed_in_another_company_than_its_parent(admin_client, acme):
    parent = UserFactory(username="parent", company=acme)
    other = Company.objects.create(name="Other")

    response = admin_client.post(f"/users/new/?parent={parent.pk}", _sub_user_form(parent, company=other.pk))

    assert response.status_code == 400
    assert "A sub-user belongs to the company of its parent user." in response.context["form"].errors["company"]
    assert not User.objects.filter(username="newsub").exists()


def test_service_puts_a_sub_user_in_its_parents_company(origin, acme):
    parent = UserFactory(username="parent", company=acme)

    sub = services.user_create(
        origin=origin, username="newsub", email="newsub@example.com", password=NEW_PASSWORD, parent=parent
    )

    assert (sub.parent, sub.company) == (parent, acme)


def test_add_sub_user_of_an_unknown_user_is_404(admin_client):
    assert admin_client.get("/users/new/", {"parent": 999999}).status_code == 404
    assert admin_client.get("/users/new/", {"parent": "x"}).status_code == 404


def test_user_list_shows_sub_user_of(admin_client, family):
    body = admin_client.get("/users/").content.decode()

    assert body.count("sub-user of parent") == 2
    assert body.count("sub-user of child") == 1
    row = re.search(rf'<tr id="user-{family.grandchild.pk}">.*?</tr>', body, re.DOTALL).group(0)
    assert "Acme" in row and "sub-user of child" in row


def test_api_creates_a_sub_user_in_the_parents_company(admin_user, acme):
    parent = UserFactory(username="parent", company=acme)
    script = Script.of(admin_user)
    body = {"username": "newsub", "email": "newsub@example.com", "password": NEW_PASSWORD, "parent_id": parent.pk}

    response = script.call("post", "/api/users", body)

    assert response.status_code == 201, response.content
    assert (response.json()["parent_id"], response.json()["company_id"]) == (parent.pk, acme.pk)


# A sub-user never outlives its parent


def test_sub_user_expiry_later_than_the_parents_is_a_form_error(admin_client, acme):
    parent_expiry, _ = _moment(10)
    _, later = _moment(20)
    parent = UserFactory(username="parent", company=acme, expires_at=parent_expiry)

    response = admin_client.post(f"/users/new/?parent={parent.pk}", _sub_user_form(parent, expires_at=later))

    assert response.status_code == 400
    assert "A sub-user cannot expire later than its parent parent" in field_block(response, "expires_at")
    assert not User.objects.filter(username="newsub").exists()


def test_sub_user_expiry_blank_is_refused_when_the_parent_expires(admin_client, acme):
    parent_expiry, _ = _moment(10)
    parent = UserFactory(username="parent", company=acme, expires_at=parent_expiry)

    response = admin_client.post(f"/users/new/?parent={parent.pk}", _sub_user_form(parent, expires_at=""))

    assert response.status_code == 400
    assert "A sub-user cannot expire later than its parent" in field_block(response, "expires_at")
    assert not User.objects.filter(username="newsub").exists()


def test_add_sub_user_page_starts_with_the_parents_expiry(admin_client, acme):
    parent_expiry, typed = _moment(10)
    parent = UserFactory(username="parent", company=acme, expires_at=parent_expiry)

    block = field_block(admin_client.get("/users/new/", {"parent": parent.pk}), "expires_at")

    assert f'value="{typed}"' in block


@pytest.mark.parametrize("days", [10, 5])
def test_sub_user_expiry_at_or_before_the_parents_is_accepted(admin_client, acme, days):
    parent_expiry, _ = _moment(10)
    wanted, typed = _moment(days)
    parent = UserFactory(username="parent", company=acme, expires_at=parent_expiry)

    response = admin_client.post(f"/users/new/?parent={parent.pk}", _sub_user_form(parent, expires_at=typed))

    assert response.status_code == 302
    assert User.objects.get(username="newsub").expires_at == wanted


def test_sub_user_of_a_parent_that_never_expires_may_expire_or_not(admin_client, acme):
    parent = UserFactory(username="parent", company=acme)
    _, typed = _moment(3)

    assert admin_client.post("/users/new/", _sub_user_form(parent, username="never")).status_code == 302
    assert (
        admin_client.post("/users/new/", _sub_user_form(parent, username="soon", expires_at=typed)).status_code == 302
    )


def test_expiry_page_refuses_a_sub_user_expiry_later_than_the_parents(admin_client, family):
    parent_expiry, _ = _moment(10)
    _, later = _moment(20)
    services.user_set_expiry(origin=COMMAND, user=family.parent, expires_at=parent_expiry)

    response = admin_client.post(f"/users/{family.child.pk}/expiry/", {"expires_at": later})

    assert response.status_code == 400
    assert "cannot expire later than its parent" in field_block(response, "expires_at")
    assert _expiry(family.child) == parent_expiry


def test_expiry_page_refuses_clearing_a_sub_users_expiry_while_the_parent_expires(admin_client, family):
    parent_expiry, _ = _moment(10)
    services.user_set_expiry(origin=COMMAND, user=family.parent, expires_at=parent_expiry)

    response = admin_client.post(f"/users/{family.child.pk}/expiry/", {"expires_at": ""})

    assert response.status_code == 400
    assert _expiry(family.child) == parent_expiry


def test_api_refuses_a_sub_user_expiry_later_than_the_parents(admin_user, family):
    parent_expiry, _ = _moment(10)
    later, _ = _moment(20)
    services.user_set_expiry(origin=COMMAND, user=family.parent, expires_at=parent_expiry)
    script = Script.of(admin_user)

    response = script.call("patch", f"/api/users/{family.child.pk}", {"expires_at": later.isoformat()})

    assert_error(response, 422, fields={"expires_at"})
    assert _expiry(family.child) == parent_expiry


def test_setting_the_parents_expiry_earlier_brings_every_descendant_forward(admin_client, family):
    early, typed = _moment(5)

    response = admin_client.post(f"/users/{family.parent.pk}/expiry/", {"expires_at": typed})

    assert response.status_code == 302
    for user in (family.parent, family.child, family.grandchild, family.sibling):
        assert _expiry(user) == early, user.username
    (event,) = events("user.expiry")
    assert audit_details(event)["sub_users_brought_forward"] == 3
    assert audit_details(event)["accounts_changed"] == 1


def test_descendants_that_already_expire_sooner_keep_their_expiry(family):
    sooner, _ = _moment(2)
    later, _ = _moment(5)
    services.user_set_expiry(origin=COMMAND, user=family.sibling, expires_at=sooner)

    services.user_set_expiry(origin=COMMAND, user=family.parent, expires_at=later)

    assert _expiry(family.sibling) == sooner
    assert _expiry(family.child) == later
    assert _expiry(family.grandchild) == later


def test_clearing_the_parents_expiry_leaves_the_sub_users_as_they_are(family):
    moment, _ = _moment(5)
    services.user_set_expiry(origin=COMMAND, user=family.parent, expires_at=moment)

    services.user_set_expiry(origin=COMMAND, user=family.parent, expires_at=None)

    assert _expiry(family.parent) is None
    assert _expiry(family.child) == moment


def test_users_outside_the_family_are_not_brought_forward(family, acme):
    stranger = UserFactory(company=acme)
    moment, _ = _moment(5)

    services.user_set_expiry(origin=COMMAND, user=family.child, expires_at=moment)

    assert _expiry(stranger) is None
    assert _expiry(family.parent) is None
    assert _expiry(family.sibling) is None
    assert _expiry(family.grandchild) == moment


# The whole company's expiry


@pytest.fixture
def companies(acme, family):
    """Acme holds the family and two more users; Acme-Sub (a subsidiary) and Other hold one each."""
    return SimpleNamespace(
        acme=acme,
        more=[UserFactory(company=acme), UserFactory(company=acme)],
        subsidiary_user=UserFactory(company=Company.objects.create(name="Acme-Sub", parent=acme)),
        other_user=UserFactory(company=Company.objects.create(name="Other")),
    )


def test_expiry_page_offers_the_whole_company_with_its_size(admin_client, family, companies):
    block = field_block(admin_client.get(f"/users/{family.child.pk}/expiry/"), "whole_company")

    assert "Apply to all 6 accounts of Acme" in block


def test_expiry_page_of_a_company_less_user_does_not_offer_the_whole_company(admin_client, plain_user):
    assert 'name="whole_company"' not in admin_client.get(f"/users/{plain_user.pk}/expiry/").content.decode()


def test_whole_company_first_asks_for_confirmation_naming_the_count(admin_client, family, companies):
    _, typed = _moment(7)

    response = admin_client.post(f"/users/{family.sibling.pk}/expiry/", {"expires_at": typed, "whole_company": "on"})

    assert response.status_code == 200
    body = response.content.decode()
    assert "Set the expiry of 6 accounts?" in body
    assert "Every account of Acme (not its subsidiaries)" in body
    assert "Set for 6 accounts" in body
    assert not User.objects.filter(expires_at__isnull=False).exists()
    assert not events("user.expiry")


def test_whole_company_confirmed_sets_every_user_of_the_company_but_not_subsidiaries(admin_client, family, companies):
    moment, typed = _moment(7)

    response = admin_client.post(
        f"/users/{family.sibling.pk}/expiry/", {"expires_at": typed, "whole_company": "on", "confirmed": "1"}
    )

    assert response.status_code == 302
    acme_users = User.objects.filter(company=companies.acme)
    assert acme_users.count() == 6
    assert set(acme_users.values_list("expires_at", flat=True)) == {moment}
    assert _expiry(companies.subsidiary_user) is None
    assert _expiry(companies.other_user) is None
    (event,) = events("user.expiry")
    assert audit_details(event)["accounts_changed"] == 6
    assert audit_details(event)["company"] == "Acme"
    messages = [str(message) for message in admin_client.get("/users/").context["messages"]]
    assert any("6 accounts of Acme" in message for message in messages)


def test_whole_company_through_the_confirmation_form(admin_client, family, companies):
    """The confirmation page posts its hidden fields back as they are."""
    moment, typed = _moment(7)
    page = admin_client.post(f"/users/{family.parent.pk}/expiry/", {"expires_at": typed, "whole_company": "on"})
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.content.decode()))
    del hidden["csrfmiddlewaretoken"]

    response = admin_client.post(f"/users/{family.parent.pk}/expiry/", hidden)

    assert response.status_code == 302
    assert set(User.objects.filter(company=companies.acme).values_list("expires_at", flat=True)) == {moment}


def test_whole_company_with_blank_clears_every_users_expiry(admin_client, family, companies):
    moment, _ = _moment(7)
    User.objects.filter(company=companies.acme).update(expires_at=moment)
    services.user_set_expiry(origin=COMMAND, user=companies.subsidiary_user, expires_at=moment)

    response = admin_client.post(
        f"/users/{family.child.pk}/expiry/", {"expires_at": "", "whole_company": "on", "confirmed": "1"}
    )

    assert response.status_code == 302
    assert set(User.objects.filter(company=companies.acme).values_list("expires_at", flat=True)) == {None}
    assert _expiry(companies.subsidiary_user) == moment


def test_whole_company_service_returns_how_many_changed(family, companies):
    moment, _ = _moment(7)
    services.user_set_expiry(origin=COMMAND, user=companies.more[0], expires_at=moment)

    changed = services.user_set_expiry(origin=COMMAND, user=family.parent, expires_at=moment, whole_company=True)

    assert changed == 5


def test_whole_company_service_refuses_a_user_without_a_company(plain_user):
    moment, _ = _moment(7)

    with pytest.raises(ValidationError) as refused:
        services.user_set_expiry(origin=COMMAND, user=plain_user, expires_at=moment, whole_company=True)

    assert refused.value.message_dict["expires_at"] == ["This user belongs to no company."]


# Deleting a user deletes its sub-users


def test_delete_confirmation_names_the_sub_users_and_how_many(admin_client, family):
    response = admin_client.get(f"/users/{family.parent.pk}/delete/")

    assert response.status_code == 200
    body = " ".join(response.content.decode().split())
    assert "3 sub-users of parent will be deleted with them: child, grandchild, sibling." in body
    assert "Delete parent and 3 sub-users" in body


def test_delete_confirmation_of_a_user_without_sub_users_names_none(admin_client, family):
    body = admin_client.get(f"/users/{family.grandchild.pk}/delete/").content.decode()

    assert "sub-users-going" not in body
    assert "will be deleted with them" not in body
    assert "Delete grandchild</button>" in body


def test_all_sub_users_reaches_every_depth(family):
    assert [user.username for user in selectors.all_sub_users(family.parent)] == ["child", "grandchild", "sibling"]
    assert selectors.descendant_ids({family.child.pk}) == {family.grandchild.pk}


def test_deleting_a_user_deletes_its_sub_users_recursively_and_ends_their_sessions(
    admin_client, admin_user, family, acme
):
    stranger = UserFactory(username="stranger", company=acme)
    doomed = (family.parent, family.child, family.grandchild, family.sibling)
    browsers = [logged_in_client(user) for user in doomed]
    keys = [session_key_of(browser) for browser in browsers]
    stranger_browser = logged_in_client(stranger)

    response = admin_client.post(f"/users/{family.parent.pk}/delete/")

    assert response.status_code == 302
    assert not User.objects.filter(pk__in=[user.pk for user in doomed]).exists()
    assert not any(session_exists(key) for key in keys)
    assert not UserSession.objects.filter(session_key__in=keys).exists()
    assert all(browser.get("/account/")["Location"].startswith("/login/") for browser in browsers)
    assert stranger_browser.get("/account/").status_code == 200
    (event,) = events("user.delete")
    assert (event.actor, event.target_name, event.outcome) == (admin_user, "parent", AuditEvent.Outcome.SUCCESS)
    assert audit_details(event) == {"sessions_ended": 4, "sub_users_deleted": 3}
    messages = [str(message) for message in admin_client.get("/users/").context["messages"]]
    assert "User parent was deleted with 3 sub-users." in messages


def test_deleting_a_sub_user_leaves_its_parent_and_siblings(admin_client, family):
    response = admin_client.post(f"/users/{family.child.pk}/delete/")

    assert response.status_code == 302
    assert set(User.objects.values_list("username", flat=True)) == {"admin", "parent", "sibling"}
    (event,) = events("user.delete")
    assert audit_details(event)["sub_users_deleted"] == 1


def test_service_returns_how_many_sub_users_went(origin, family):
    assert services.user_delete(origin=origin, user=family.parent) == 3


def test_api_delete_takes_the_sub_users(admin_user, family):
    script = Script.of(admin_user)

    response = script.call("delete", f"/api/users/{family.parent.pk}")

    assert response.status_code == 204
    assert not User.objects.filter(username__in=["parent", "child", "grandchild", "sibling"]).exists()


def test_a_sub_user_deleting_its_parent_is_logged_out(acme):
    AdminFactory()  # someone must remain able to manage users
    parent = UserFactory(username="parent", company=acme)
    sub = grant(UserFactory(username="sub", company=acme, parent=parent), "accounts.view_user", "accounts.delete_user")
    # As in test_user_pages: the session is written on this request (its last-seen time is due).
    with time_machine.travel(datetime.datetime(2025, 3, 1, 9, 0, tzinfo=datetime.UTC), tick=False) as traveller:
        browser = logged_in_client(sub)
        browser.get(f"/users/{parent.pk}/delete/")
        traveller.shift(300)

        response = browser.post(f"/users/{parent.pk}/delete/")

    assert not User.objects.filter(pk__in=[parent.pk, sub.pk]).exists()
    assert response.status_code == 302
    assert response["Location"] == "/login/"


# The last-user and last-manager rules, with the cascade


def test_deleting_a_user_whose_sub_users_include_the_last_other_manager_is_refused(acme):
    """The deleting admin may delete users but not manage them; the only manager is a sub-user of the target.

    The power rule refuses first: the manager holds a permission the deleter lacks.
    """
    parent = UserFactory(username="parent", company=acme)
    manager = grant(UserFactory(username="manager", company=acme, parent=parent), "accounts.change_user")
    deleter = grant(UserFactory(username="deleter"), "accounts.view_user", "accounts.delete_user")
    assert set(organisation_selectors.user_managers()) == {manager}
    browsers = [logged_in_client(parent), logged_in_client(manager)]
    deleter_browser = logged_in_client(deleter)
    before = _snapshot()

    response = deleter_browser.post(f"/users/{parent.pk}/delete/")

    assert response.status_code == 403
    assert _snapshot() == before
    assert all(browser.get("/account/").status_code == 200 for browser in browsers)


def test_service_refuses_a_cascade_that_removes_the_last_manager_deep_down(family, acme):
    UserFactory(username="stranger", company=acme)
    grant(family.grandchild, "accounts.change_user")
    before = _snapshot()

    with pytest.raises(services.LastUserError) as refused:
        services.user_delete(origin=COMMAND, user=family.parent)

    assert str(refused.value) == services.LastUserError.messages["no manager"]
    assert _snapshot() == before


def test_a_manager_through_a_role_counts_too(family, acme):
    UserFactory(username="stranger", company=acme)
    role = organisation_services.role_create(origin=COMMAND, name="Managers", permissions=["accounts.change_user"])
    family.child.groups.add(role)

    with pytest.raises(services.LastUserError) as refused:
        services.user_delete(origin=COMMAND, user=family.parent)

    assert str(refused.value) == services.LastUserError.messages["no manager"]

    assert User.objects.filter(pk=family.parent.pk).exists()


def test_the_cascade_is_allowed_when_another_manager_remains(family, acme):
    grant(family.child, "accounts.change_user")
    grant(UserFactory(company=acme), "accounts.change_user")

    assert services.user_delete(origin=COMMAND, user=family.parent) == 3


@pytest.mark.parametrize("how", ["expired", "disabled"])
def test_an_expired_or_disabled_manager_does_not_count_as_remaining(family, acme, how):
    grant(family.child, "accounts.change_user")
    other = grant(UserFactory(company=acme), "accounts.change_user")
    if how == "expired":
        User.objects.filter(pk=other.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    else:
        User.objects.filter(pk=other.pk).update(is_active=False)

    with pytest.raises(services.LastUserError) as refused:
        services.user_delete(origin=COMMAND, user=family.parent)

    assert str(refused.value) == services.LastUserError.messages["no manager"]


def test_deleting_the_last_user_is_refused(db):
    only = UserFactory()

    with pytest.raises(services.LastUserError) as refused:
        services.user_delete(origin=COMMAND, user=only)

    assert str(refused.value) == services.LastUserError.messages["last user"]
    assert User.objects.filter(pk=only.pk).exists()


def test_deleting_a_user_whose_sub_users_are_all_the_others_is_refused_as_the_last_user(family):
    before = _snapshot()

    with pytest.raises(services.LastUserError) as refused:
        services.user_delete(origin=COMMAND, user=family.parent)

    assert str(refused.value) == services.LastUserError.messages["last user"]
    assert _snapshot() == before
    (event,) = events("user.delete")
    assert audit_details(event) == {"reason": "last user"}


def test_with_no_managers_to_begin_with_only_the_last_user_rule_applies(family, acme):
    stranger = UserFactory(username="stranger", company=acme)
    assert not organisation_selectors.user_managers().exists()

    assert services.user_delete(origin=COMMAND, user=family.child) == 1
    assert services.user_delete(origin=COMMAND, user=family.parent) == 1
    assert list(User.objects.all()) == [stranger]
    with pytest.raises(services.LastUserError) as refused:
        services.user_delete(origin=COMMAND, user=stranger)
    assert str(refused.value) == services.LastUserError.messages["last user"]


def test_api_refuses_the_cascade_that_removes_the_last_manager_with_409(family):
    grant(family.child, "accounts.change_user")
    deleter = grant(UserFactory(), "accounts.view_user", "accounts.delete_user")
    script = Script.of(deleter)

    response = script.call("delete", f"/api/users/{family.parent.pk}")

    # The power rule refuses first: the sub-user who manages users holds what the deleter lacks.
    body = assert_error(response, 403)
    assert "you cannot manage" in body["detail"]
    assert User.objects.filter(pk=family.parent.pk).exists()
