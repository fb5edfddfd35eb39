"""The user pages through django.test.Client: permissions, forms, htmx inline edits, passwords, deletion."""

import datetime

import pytest
import time_machine
from django.test import Client

from accounts.models import User
from core.models import AuditEvent
from tests.factories import DEFAULT_PASSWORD, AdminFactory, UserFactory
from tests.integration.conftest import (
    NEW_PASSWORD,
    events,
    field_block,
    grant,
    logged_in_client,
    session_exists,
    session_key_of,
)
from usersessions.models import UserSession

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _row(user):
    return User.objects.values("username", "email", "password").get(pk=user.pk)


@pytest.fixture
def plain_client(plain_user):
    return logged_in_client(plain_user)


# permissions


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/users/"),
        ("get", "/users/new/"),
        ("post", "/users/new/"),
        ("get", "/users/{other}/delete/"),
        ("post", "/users/{other}/delete/"),
        ("get", "/users/{other}/username/"),
        ("get", "/users/{other}/username/edit/"),
        ("post", "/users/{other}/username/edit/"),
        ("post", "/users/{own}/email/edit/"),
        ("get", "/users/{other}/password/"),
        ("post", "/users/{other}/password/"),
        # An id that does not exist answers the same, so ids cannot be probed.
        ("get", "/users/999999/password/"),
        ("get", "/users/999999/delete/"),
        ("get", "/users/999999/username/edit/"),
        ("get", "/audit/"),
    ],
)
def test_user_without_permissions_is_forbidden(plain_client, plain_user, other_user, method, path):
    path = path.format(other=other_user.pk, own=plain_user.pk)
    before = (_row(other_user), _row(plain_user), User.objects.count())

    response = getattr(plain_client, method)(
        path, {"username": "x", "email": "x@example.com", "password": NEW_PASSWORD, "value": "x"}
    )

    assert response.status_code == 403
    assert (_row(other_user), _row(plain_user), User.objects.count()) == before


def test_user_without_permissions_can_open_their_own_password_page(plain_client, plain_user):
    response = plain_client.get(f"/users/{plain_user.pk}/password/")

    assert response.status_code == 200
    assert "Change my password" in response.content.decode()


def test_user_without_permissions_can_change_their_own_password(plain_client, plain_user):
    response = plain_client.post(
        f"/users/{plain_user.pk}/password/", {"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert User.objects.get(pk=plain_user.pk).check_password(NEW_PASSWORD)


def test_view_permission_alone_shows_the_list_without_edit_links(other_user):
    viewer = grant(UserFactory(username="viewer"), "accounts.view_user")
    browser = logged_in_client(viewer)

    response = browser.get("/users/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "bob" in body
    assert "/edit/" not in body
    assert "Create User" not in body
    assert browser.get(f"/users/{other_user.pk}/username/edit/").status_code == 403


def test_unknown_user_is_404(admin_client):
    assert admin_client.get("/users/999999/delete/").status_code == 404
    assert admin_client.get("/users/999999/password/").status_code == 404
    assert admin_client.get("/users/999999/username/edit/").status_code == 404


# user list


def test_user_list_shows_username_email_and_creation_time(admin_client, other_user):
    body = admin_client.get("/users/").content.decode()

    assert "bob" in body
    assert "bob@example.com" in body
    assert other_user.date_joined.strftime("%Y-%m-%d %H:%M") in body


@pytest.mark.parametrize("term", ["ali", "ALI", "Alice", "alice@ex", "ALICE@EXAMPLE"])
def test_user_list_search_matches_the_start_of_username_or_email_ignoring_case(admin_client, term):
    UserFactory(username="alice", email="alice@example.com")
    UserFactory(username="malia", email="malia@example.com")

    page = admin_client.get("/users/", {"q": term}).context["page"]

    assert [user.username for user in page] == ["alice"]


def test_user_list_search_matches_an_email_that_starts_differently_from_the_username(admin_client):
    UserFactory(username="ops1", email="pager@example.com")

    page = admin_client.get("/users/", {"q": "PAGER"}).context["page"]

    assert [user.username for user in page] == ["ops1"]


def test_user_list_search_does_not_match_the_middle_of_a_name(admin_client):
    UserFactory(username="malia", email="malia@example.com")

    page = admin_client.get("/users/", {"q": "lia"}).context["page"]

    assert list(page) == []


def test_user_list_shows_twenty_users_per_page_newest_first(admin_client, admin_user):
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    for n in range(24):
        UserFactory(username=f"member{n:02d}", date_joined=start + datetime.timedelta(days=n))

    first = admin_client.get("/users/").context["page"]
    second = admin_client.get("/users/", {"page": 2}).context["page"]

    assert len(first) == 20
    assert first[0] == admin_user  # created now, so newest
    assert [u.username for u in first][1:3] == ["member23", "member22"]
    assert [u.username for u in second] == ["member04", "member03", "member02", "member01", "member00"]


def test_user_list_pagination_keeps_the_search(admin_client):
    for n in range(21):
        UserFactory(username=f"team{n:02d}")

    body = admin_client.get("/users/", {"q": "team"}).content.decode()

    assert 'href="?q=team&amp;page=2"' in body


@pytest.mark.parametrize("page", ["abc", "0", "-1", "99999", ""])
def test_user_list_with_an_odd_page_number_does_not_fail(admin_client, page):
    response = admin_client.get("/users/", {"page": page})

    assert response.status_code == 200


# create user


def test_create_user_page_shows_the_form(admin_client):
    response = admin_client.get("/users/new/")

    assert response.status_code == 200
    for name in ("username", "email", "password"):
        field_block(response, name)


def test_create_user_success_redirects_to_the_list(admin_client):
    response = admin_client.post(
        "/users/new/", {"username": "carol", "email": "carol@example.com", "password": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert response["Location"] == "/users/"
    assert User.objects.get(username="carol").check_password(NEW_PASSWORD)
    assert "User carol was created." in admin_client.get("/users/").content.decode()


def test_create_user_is_audited_with_the_acting_admin(admin_client, admin_user):
    admin_client.post("/users/new/", {"username": "carol", "email": "carol@example.com", "password": NEW_PASSWORD})

    (event,) = events("user.create")
    assert event.actor == admin_user
    assert event.target_name == "carol"
    assert event.ip == "127.0.0.1"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"password": "weakling"}, "password", "at least two of: letters, digits and special characters"),
        ({"password": "Ab1-"}, "password", "at least 8 characters"),
        ({"username": "bad name!"}, "username", "Username may only contain letters"),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"username": "ADMIN"}, "username", "This username is already taken."),
        ({"username": "Admin"}, "username", "This username is already taken."),
    ],
    ids=["weak-password", "short-password", "bad-username-characters", "bad-email", "dup-upper", "dup-capital"],
)
def test_create_user_shows_each_refused_rule_next_to_its_field(admin_client, data, field, message):
    form = {"username": "carol", "email": "carol@example.com", "password": NEW_PASSWORD, **data}
    users_before = User.objects.count()

    response = admin_client.post("/users/new/", form)

    assert response.status_code == 400
    block = field_block(response, field)
    assert "has-error" in block
    assert message in block
    assert User.objects.count() == users_before
    assert not AuditEvent.objects.filter(action="user.create").exists()


def test_create_user_keeps_the_typed_username_and_email_but_not_the_password(admin_client):
    response = admin_client.post("/users/new/", {"username": "carol", "email": "nope", "password": NEW_PASSWORD})

    body = response.content.decode()
    assert 'value="carol"' in body
    assert 'value="nope"' in body
    assert NEW_PASSWORD not in body


def test_create_user_with_empty_fields_is_400_not_500(admin_client):
    response = admin_client.post("/users/new/", {"username": "", "email": "", "password": ""})

    assert response.status_code == 400


def test_create_user_with_an_empty_post_is_400_with_the_required_fields(admin_client):
    response = admin_client.post("/users/new/", {})

    assert response.status_code == 400
    assert "Username is required." in field_block(response, "username")


# inline edit


def test_inline_edit_get_returns_the_form_fragment(admin_client, other_user):
    response = admin_client.get(f"/users/{other_user.pk}/username/edit/", **HTMX)

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert 'name="value"' in body
    assert 'value="bob"' in body


def test_inline_edit_get_changes_nothing(admin_client, other_user):
    before = _row(other_user)

    admin_client.get(f"/users/{other_user.pk}/username/edit/", {"value": "hijacked"}, **HTMX)
    admin_client.get(f"/users/{other_user.pk}/email/edit/", {"value": "x@example.com"})

    assert _row(other_user) == before
    assert not AuditEvent.objects.filter(action="user.update").exists()


def test_inline_edit_success_returns_the_cell_fragment(admin_client, other_user):
    response = admin_client.post(f"/users/{other_user.pk}/username/edit/", {"value": "robert"}, **HTMX)

    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert "<form" not in body
    assert "robert" in body
    assert User.objects.get(pk=other_user.pk).username == "robert"


def test_inline_edit_of_the_email_is_saved_and_audited(admin_client, other_user):
    admin_client.post(f"/users/{other_user.pk}/email/edit/", {"value": "robert@example.org"}, **HTMX)

    assert User.objects.get(pk=other_user.pk).email == "robert@example.org"
    (event,) = events("user.update")
    assert event.details["changes"] == {"email": {"from": "bob@example.com", "to": "robert@example.org"}}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("username", "ADMIN", "This username is already taken."),
        ("username", "bad name", "Username may only contain letters"),
        ("username", "", "Username is required."),
        ("email", "not-an-email", "Enter a valid email address."),
        ("email", "", "Email is required."),
    ],
)
def test_inline_edit_refusal_returns_the_form_with_the_rule_and_changes_nothing(
    admin_client, other_user, field, value, message
):
    before = _row(other_user)

    response = admin_client.post(f"/users/{other_user.pk}/{field}/edit/", {"value": value}, **HTMX)

    assert response.status_code == 200  # htmx only swaps 2xx responses
    body = response.content.decode()
    assert "<form" in body
    assert "<html" not in body
    assert message in body
    assert 'aria-invalid="true"' in body
    assert _row(other_user) == before
    assert not AuditEvent.objects.filter(action="user.update").exists()


def test_inline_edit_without_htmx_redirects_to_the_list_on_success(admin_client, other_user):
    response = admin_client.post(f"/users/{other_user.pk}/username/edit/", {"value": "robert"})

    assert response.status_code == 302
    assert response["Location"] == "/users/"
    assert User.objects.get(pk=other_user.pk).username == "robert"


def test_inline_edit_without_htmx_shows_the_refusal_on_a_page_with_status_400(admin_client, other_user):
    response = admin_client.post(f"/users/{other_user.pk}/username/edit/", {"value": "bad name"})

    assert response.status_code == 400
    assert "<html" in response.content.decode()
    assert "Username may only contain letters" in response.content.decode()


@pytest.mark.parametrize("field", ["password", "is_superuser", "is_active", "date_joined"])
def test_inline_edit_of_an_unknown_field_is_404(admin_client, other_user, field):
    before = User.objects.values().get(pk=other_user.pk)

    get = admin_client.get(f"/users/{other_user.pk}/{field}/edit/", **HTMX)
    post = admin_client.post(f"/users/{other_user.pk}/{field}/edit/", {"value": "1"}, **HTMX)

    assert (get.status_code, post.status_code) == (404, 404)
    assert User.objects.values().get(pk=other_user.pk) == before


def test_inline_cell_shows_the_stored_value(admin_client, other_user):
    response = admin_client.get(f"/users/{other_user.pk}/email/", **HTMX)

    assert response.status_code == 200
    assert "bob@example.com" in response.content.decode()


# change password


def test_change_own_password_needs_the_current_password(admin_client, admin_user):
    response = admin_client.post(f"/users/{admin_user.pk}/password/", {"password": NEW_PASSWORD})

    assert response.status_code == 400
    assert "Your current password is required." in field_block(response, "current_password")
    assert User.objects.get(pk=admin_user.pk).check_password(DEFAULT_PASSWORD)


def test_change_own_password_with_a_wrong_current_password_is_refused_and_audited(admin_client, admin_user):
    response = admin_client.post(
        f"/users/{admin_user.pk}/password/", {"current_password": "Not-my-pass-1", "password": NEW_PASSWORD}
    )

    assert response.status_code == 400
    assert "Your current password is not correct." in field_block(response, "current_password")
    assert User.objects.get(pk=admin_user.pk).check_password(DEFAULT_PASSWORD)
    (event,) = events("user.password_change")
    assert event.outcome == AuditEvent.Outcome.FAILURE


def test_change_own_password_refuses_a_weak_new_password(admin_client, admin_user):
    response = admin_client.post(
        f"/users/{admin_user.pk}/password/", {"current_password": DEFAULT_PASSWORD, "password": "abcdefgh"}
    )

    assert response.status_code == 400
    assert "at least two of" in field_block(response, "password")
    assert User.objects.get(pk=admin_user.pk).check_password(DEFAULT_PASSWORD)


def test_change_own_password_ends_other_sessions_and_keeps_this_one(admin_client, admin_user):
    other_browser = logged_in_client(admin_user)
    other_key = session_key_of(other_browser)
    assert other_browser.get("/users/").status_code == 200

    response = admin_client.post(
        f"/users/{admin_user.pk}/password/", {"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD}
    )

    assert response.status_code == 302
    assert not session_exists(other_key)
    assert other_browser.get("/users/")["Location"].startswith("/login/")
    assert admin_client.get("/users/").status_code == 200
    assert UserSession.objects.filter(user=admin_user).get().session_key == session_key_of(admin_client)


def test_change_own_password_gives_this_browser_a_new_session_key(admin_client, admin_user):
    before = session_key_of(admin_client)

    admin_client.post(
        f"/users/{admin_user.pk}/password/", {"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD}
    )

    assert session_key_of(admin_client) != before
    assert not session_exists(before)


def test_change_own_password_then_login_with_the_new_one(admin_client, admin_user):
    admin_client.post(
        f"/users/{admin_user.pk}/password/", {"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD}
    )

    fresh = Client()
    assert fresh.post("/login/", {"username": "admin", "password": DEFAULT_PASSWORD}).status_code == 200
    assert fresh.post("/login/", {"username": "admin", "password": NEW_PASSWORD}).status_code == 302


def test_admin_changing_another_users_password_ends_all_their_sessions(admin_client, other_user):
    first, second = logged_in_client(other_user), logged_in_client(other_user)
    keys = [session_key_of(first), session_key_of(second)]

    response = admin_client.post(f"/users/{other_user.pk}/password/", {"password": NEW_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/users/"
    assert not any(session_exists(key) for key in keys)
    assert first.get("/account/")["Location"].startswith("/login/")
    assert second.get("/account/")["Location"].startswith("/login/")
    assert User.objects.get(pk=other_user.pk).check_password(NEW_PASSWORD)


def test_admin_changing_another_users_password_is_not_asked_for_theirs(admin_client, other_user):
    response = admin_client.get(f"/users/{other_user.pk}/password/")

    assert 'name="current_password"' not in response.content.decode()
    assert "Change the password of bob" in response.content.decode()


def test_password_page_get_changes_nothing(admin_client, admin_user, other_user):
    browser = logged_in_client(other_user)
    before = (_row(admin_user), _row(other_user))

    admin_client.get(f"/users/{other_user.pk}/password/", {"password": NEW_PASSWORD})
    admin_client.get(
        f"/users/{admin_user.pk}/password/", {"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD}
    )

    assert (_row(admin_user), _row(other_user)) == before
    assert session_exists(session_key_of(browser))
    assert not AuditEvent.objects.filter(action="user.password_change").exists()


# delete


def test_delete_confirmation_names_the_user(admin_client, other_user):
    response = admin_client.get(f"/users/{other_user.pk}/delete/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "Delete user bob?" in body
    assert "bob@example.com" in body


def test_delete_confirmation_get_changes_nothing(admin_client, other_user):
    browser = logged_in_client(other_user)

    admin_client.get(f"/users/{other_user.pk}/delete/")

    assert User.objects.filter(pk=other_user.pk).exists()
    assert session_exists(session_key_of(browser))
    assert not AuditEvent.objects.filter(action="user.delete").exists()


def test_delete_post_deletes_the_user_and_ends_their_sessions(admin_client, other_user):
    browser = logged_in_client(other_user)
    key = session_key_of(browser)

    response = admin_client.post(f"/users/{other_user.pk}/delete/")

    assert response.status_code == 302
    assert response["Location"] == "/users/"
    assert not User.objects.filter(pk=other_user.pk).exists()
    assert not session_exists(key)
    assert browser.get("/account/")["Location"].startswith("/login/")
    assert "User bob was deleted." in admin_client.get("/users/").content.decode()


def test_delete_post_is_audited(admin_client, admin_user, other_user):
    admin_client.post(f"/users/{other_user.pk}/delete/")

    (event,) = events("user.delete")
    assert (event.actor, event.target_name, event.outcome) == (admin_user, "bob", AuditEvent.Outcome.SUCCESS)


def test_deleting_the_last_user_is_refused_with_409_and_a_message(admin_client, admin_user):
    response = admin_client.post(f"/users/{admin_user.pk}/delete/")

    assert response.status_code == 409
    assert "The last user cannot be deleted" in response.content.decode()
    assert User.objects.filter(pk=admin_user.pk).exists()
    assert admin_client.get("/users/").status_code == 200


def test_deleting_the_last_user_is_audited_as_failure(admin_client, admin_user):
    admin_client.post(f"/users/{admin_user.pk}/delete/")

    (event,) = events("user.delete")
    assert event.outcome == AuditEvent.Outcome.FAILURE


def test_deleting_yourself_logs_you_out(admin_client, admin_user, other_user):
    AdminFactory()  # someone must remain able to manage users
    key = session_key_of(admin_client)

    response = admin_client.post(f"/users/{admin_user.pk}/delete/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert not User.objects.filter(pk=admin_user.pk).exists()
    assert not session_exists(key)
    assert admin_client.get("/users/")["Location"].startswith("/login/")


def test_deleting_yourself_after_a_pause_on_the_confirmation_page_logs_you_out(admin_user, other_user):
    AdminFactory()  # someone must remain able to manage users
    # The session is written on this request (its last-seen time is due), then ended by the deletion.
    with time_machine.travel(datetime.datetime(2025, 3, 1, 9, 0, tzinfo=datetime.UTC), tick=False) as traveller:
        browser = logged_in_client(admin_user)
        browser.get(f"/users/{admin_user.pk}/delete/")
        traveller.shift(300)

        response = browser.post(f"/users/{admin_user.pk}/delete/")

    assert response.status_code == 302
    assert not User.objects.filter(pk=admin_user.pk).exists()


def test_delete_of_a_user_deleted_meanwhile_is_404(admin_client, other_user):
    pk = other_user.pk
    admin_client.post(f"/users/{pk}/delete/")

    assert admin_client.post(f"/users/{pk}/delete/").status_code == 404


# the cached total of the unfiltered list


def test_user_list_total_includes_a_user_created_after_the_total_was_cached(
    admin_client, django_capture_on_commit_callbacks
):
    assert b"1 user</p>" in admin_client.get("/users/").content

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/users/new/", {"username": "newcomer", "email": "newcomer@example.com", "password": NEW_PASSWORD}
        )

    assert b"2 users</p>" in admin_client.get("/users/").content


def test_user_list_total_excludes_a_user_deleted_after_the_total_was_cached(
    admin_client, other_user, django_capture_on_commit_callbacks
):
    assert b"2 users</p>" in admin_client.get("/users/").content

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(f"/users/{other_user.pk}/delete/")

    assert b"1 user</p>" in admin_client.get("/users/").content


def test_user_list_total_includes_a_user_created_outside_the_services(admin_client, django_capture_on_commit_callbacks):
    assert b"1 user</p>" in admin_client.get("/users/").content

    with django_capture_on_commit_callbacks(execute=True):
        UserFactory(username="made-by-createsuperuser")

    response = admin_client.get("/users/")
    assert b"2 users</p>" in response.content
    assert b"made-by-createsuperuser" in response.content
