"""accounts.services against the real database: rules, transactions, sessions and audit events."""

import pytest
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError

from accounts import services
from accounts.models import User
from core.audit import Origin
from core.models import AuditEvent
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.integration.conftest import (
    NEW_PASSWORD,
    audit_dump,
    events,
    logged_in_client,
    session_exists,
    session_key_of,
    user_session_keys,
)
from usersessions import services as session_services
from usersessions.models import UserSession

pytestmark = pytest.mark.django_db


def _create(origin, **overrides):
    fields = {"username": "carol", "email": "carol@example.com", "password": NEW_PASSWORD, **overrides}
    return services.user_create(origin=origin, **fields)


# user_create


def test_user_create_saves_a_user_that_can_log_in_with_its_password(origin):
    user = _create(origin)

    stored = User.objects.get(pk=user.pk)
    assert stored.username == "carol"
    assert stored.email == "carol@example.com"
    assert stored.check_password(NEW_PASSWORD)
    assert stored.password.startswith("argon2$")


def test_user_create_writes_one_user_create_event(origin):
    user = _create(origin)

    (event,) = events("user.create")
    assert event.outcome == AuditEvent.Outcome.SUCCESS
    assert event.actor == origin.actor
    assert event.actor_name == "admin"
    assert (event.target_type, event.target_id, event.target_name) == ("user", str(user.pk), "carol")
    assert event.ip == "192.0.2.10"
    assert event.user_agent == "integration-test"


def test_user_create_rolls_back_the_user_when_its_audit_event_cannot_be_written(origin, monkeypatch):
    def failing_record(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(services, "record", failing_record)

    with pytest.raises(RuntimeError):
        _create(origin)

    assert not User.objects.filter(username="carol").exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"username": ""}, "username", "Username is required."),
        ({"username": "carol smith"}, "username", "Username may only contain letters"),
        ({"username": "carol@home"}, "username", "Username may only contain letters"),
        ({"username": "c" * 33}, "username", "at most 32 characters"),
        ({"email": ""}, "email", "Email is required."),
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"password": "Ab1-xyz"}, "password", "Password must be at least 8 characters long."),
        ({"password": "Ab1-" * 5 + "x"}, "password", "Password must be at most 20 characters long."),
        ({"password": "onlyletterstoo"}, "password", "at least two of: letters, digits and special characters"),
        ({"password": "password1"}, "password", "This password is too common."),
        ({"username": "margaretta", "password": "margaretta1"}, "password", "too similar to the username"),
    ],
    ids=[
        "username-missing",
        "username-space",
        "username-at-sign",
        "username-too-long",
        "email-missing",
        "email-invalid",
        "password-too-short",
        "password-too-long",
        "password-one-kind",
        "password-common",
        "password-like-username",
    ],
)
def test_user_create_reports_the_failed_rule_on_its_field(origin, overrides, field, message):
    with pytest.raises(ValidationError) as raised:
        _create(origin, **overrides)

    errors = raised.value.message_dict
    assert set(errors) == {field}
    assert any(message in text for text in errors[field]), errors


def test_user_create_reports_every_failing_field_at_once(origin):
    with pytest.raises(ValidationError) as raised:
        _create(origin, username="bad name", email="nope", password="short")

    assert set(raised.value.message_dict) == {"username", "email", "password"}


@pytest.mark.parametrize("taken_as", ["admin", "Admin", "ADMIN", "aDmIn"])
def test_user_create_refuses_a_username_that_differs_only_in_case(origin, taken_as):
    with pytest.raises(ValidationError) as raised:
        _create(origin, username=taken_as)

    assert raised.value.message_dict == {"username": ["This username is already taken."]}
    assert User.objects.filter(username__iexact="admin").count() == 1


def test_user_create_leaves_nothing_behind_when_refused(origin):
    users_before = User.objects.count()

    with pytest.raises(ValidationError):
        _create(origin, username="Admin")

    assert User.objects.count() == users_before
    assert not AuditEvent.objects.exists()


# user_update


def test_user_update_changes_the_username_and_audits_from_and_to(origin, other_user):
    services.user_update(origin=origin, user=other_user, username="robert")

    other_user.refresh_from_db()
    assert other_user.username == "robert"
    (event,) = events("user.update")
    assert event.details["changes"] == {"username": {"from": "bob", "to": "robert"}}
    assert event.target_id == str(other_user.pk)


def test_user_update_changes_the_email_and_audits_from_and_to(origin, other_user):
    services.user_update(origin=origin, user=other_user, email="robert@example.org")

    other_user.refresh_from_db()
    assert other_user.email == "robert@example.org"
    (event,) = events("user.update")
    assert event.details["changes"] == {"email": {"from": "bob@example.com", "to": "robert@example.org"}}


def test_user_update_may_change_only_the_case_of_a_users_own_username(origin, other_user):
    services.user_update(origin=origin, user=other_user, username="Bob")

    other_user.refresh_from_db()
    assert other_user.username == "Bob"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"username": "ADMIN"}, "username"),
        ({"username": "bo b"}, "username"),
        ({"username": ""}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
    ],
)
def test_user_update_refused_value_leaves_the_row_unchanged(origin, other_user, change, field):
    with pytest.raises(ValidationError) as raised:
        services.user_update(origin=origin, user=other_user, **change)

    assert set(raised.value.message_dict) == {field}
    stored = User.objects.get(pk=other_user.pk)
    assert (stored.username, stored.email) == ("bob", "bob@example.com")
    assert not AuditEvent.objects.exists()


def test_user_update_with_the_same_values_writes_no_event(origin, other_user):
    services.user_update(origin=origin, user=other_user, username="bob", email="bob@example.com")

    assert not AuditEvent.objects.exists()


# user_set_password


def test_user_set_password_replaces_the_password(origin, other_user):
    services.user_set_password(origin=origin, user=other_user, password=NEW_PASSWORD)

    stored = User.objects.get(pk=other_user.pk)
    assert stored.check_password(NEW_PASSWORD)
    assert not stored.check_password(DEFAULT_PASSWORD)


def test_user_set_password_ends_every_session_of_the_user(origin, other_user):
    first, second = logged_in_client(other_user), logged_in_client(other_user)
    keys = {session_key_of(first), session_key_of(second)}
    assert user_session_keys(other_user) == keys

    services.user_set_password(origin=origin, user=other_user, password=NEW_PASSWORD)

    assert not any(session_exists(key) for key in keys)
    assert user_session_keys(other_user) == set()
    (event,) = events("user.password_change")
    assert event.details["sessions_ended"] == 2


def test_user_set_password_keeps_the_session_it_is_told_to_keep(origin, other_user):
    kept, ended = logged_in_client(other_user), logged_in_client(other_user)

    services.user_set_password(
        origin=origin, user=other_user, password=NEW_PASSWORD, keep_session_key=session_key_of(kept)
    )

    assert session_exists(session_key_of(kept))
    assert not session_exists(session_key_of(ended))
    assert user_session_keys(other_user) == {session_key_of(kept)}


def test_user_set_password_leaves_other_users_sessions_alone(origin, other_user, admin_user):
    admins_browser = logged_in_client(admin_user)

    services.user_set_password(origin=origin, user=other_user, password=NEW_PASSWORD)

    assert session_exists(session_key_of(admins_browser))


def test_user_set_password_refuses_a_weak_password_and_keeps_the_old_one(origin, other_user):
    browser = logged_in_client(other_user)

    with pytest.raises(ValidationError) as raised:
        services.user_set_password(origin=origin, user=other_user, password="weak")

    assert set(raised.value.message_dict) == {"password"}
    assert User.objects.get(pk=other_user.pk).check_password(DEFAULT_PASSWORD)
    assert session_exists(session_key_of(browser))
    assert events("user.password_change") == []


# user_change_own_password


def test_user_change_own_password_with_the_right_current_password_succeeds(other_user):
    origin = Origin(actor=other_user, ip="192.0.2.20")

    services.user_change_own_password(
        origin=origin, user=other_user, current_password=DEFAULT_PASSWORD, new_password=NEW_PASSWORD, session_key=None
    )

    assert User.objects.get(pk=other_user.pk).check_password(NEW_PASSWORD)
    (event,) = events("user.password_change")
    assert event.outcome == AuditEvent.Outcome.SUCCESS
    assert event.details["self"] is True


def test_user_change_own_password_refuses_a_wrong_current_password(other_user):
    with pytest.raises(ValidationError) as raised:
        services.user_change_own_password(
            origin=Origin(actor=other_user),
            user=other_user,
            current_password="Not-my-pass-1",
            new_password=NEW_PASSWORD,
            session_key=None,
        )

    assert raised.value.message_dict == {"current_password": ["Your current password is not correct."]}
    assert User.objects.get(pk=other_user.pk).check_password(DEFAULT_PASSWORD)


def test_user_change_own_password_audits_a_wrong_current_password_as_failure(other_user):
    browser = logged_in_client(other_user)
    with pytest.raises(ValidationError):
        services.user_change_own_password(
            origin=Origin(actor=other_user),
            user=other_user,
            current_password="Not-my-pass-1",
            new_password=NEW_PASSWORD,
            session_key=None,
        )

    (event,) = events("user.password_change")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert event.target_id == str(other_user.pk)
    assert session_exists(session_key_of(browser))


# user_delete


def test_user_delete_removes_the_user(origin, other_user):
    services.user_delete(origin=origin, user=other_user)

    assert not User.objects.filter(pk=other_user.pk).exists()


def test_user_delete_ends_the_users_sessions(origin, other_user):
    browser = logged_in_client(other_user)
    key = session_key_of(browser)

    services.user_delete(origin=origin, user=other_user)

    assert not session_exists(key)
    assert not UserSession.objects.filter(session_key=key).exists()


def test_user_delete_is_audited_with_the_name_kept_after_the_user_is_gone(origin, other_user):
    pk = other_user.pk
    logged_in_client(other_user)

    services.user_delete(origin=origin, user=other_user)

    (event,) = events("user.delete")
    assert event.outcome == AuditEvent.Outcome.SUCCESS
    assert (event.target_id, event.target_name) == (str(pk), "bob")
    assert event.details["sessions_ended"] == 1


def test_last_user_cannot_be_deleted(origin, admin_user):
    with pytest.raises(services.LastUserError):
        services.user_delete(origin=origin, user=admin_user)

    assert User.objects.filter(pk=admin_user.pk).exists()


def test_last_user_deletion_attempt_is_audited_as_failure(origin, admin_user):
    with pytest.raises(services.LastUserError):
        services.user_delete(origin=origin, user=admin_user)

    (event,) = events("user.delete")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert event.details["reason"] == "last user"


def test_last_user_deletion_attempt_keeps_its_sessions(origin, admin_user):
    browser = logged_in_client(admin_user)

    with pytest.raises(services.LastUserError):
        services.user_delete(origin=origin, user=admin_user)

    assert session_exists(session_key_of(browser))


def test_user_delete_of_an_already_deleted_user_is_refused(origin, other_user):
    stale = User.objects.get(pk=other_user.pk)
    services.user_delete(origin=origin, user=other_user)

    with pytest.raises(User.DoesNotExist):
        services.user_delete(origin=origin, user=stale)


# secrets never reach the audit log


def test_audit_events_never_contain_a_password(origin, other_user):
    created_password = "Created-pw-31"
    set_password = "Setting-pw-52"
    wrong_current = "Guessed-pw-73"
    own_new = "Ownchoice-pw-94"
    created = _create(origin, password=created_password)
    services.user_set_password(origin=origin, user=other_user, password=set_password)
    own = Origin(actor=created)
    with pytest.raises(ValidationError):
        services.user_change_own_password(
            origin=own, user=created, current_password=wrong_current, new_password=own_new, session_key=None
        )
    services.user_change_own_password(
        origin=own, user=created, current_password=created_password, new_password=own_new, session_key=None
    )
    services.user_update(origin=origin, user=other_user, username="robert")
    services.user_delete(origin=origin, user=other_user)
    UserFactory()  # keep more than one user around

    dump = audit_dump()
    assert AuditEvent.objects.count() == 6
    for secret in (created_password, set_password, wrong_current, own_new, DEFAULT_PASSWORD):
        assert secret not in dump
    assert User.objects.get(pk=created.pk).password not in dump
    assert "argon2" not in dump  # no password hash either


def test_sessions_table_is_untouched_by_a_refused_deletion(origin, admin_user):
    logged_in_client(admin_user)
    before = Session.objects.count()

    with pytest.raises(services.LastUserError):
        services.user_delete(origin=origin, user=admin_user)

    assert Session.objects.count() == before


# session_start / session_end


def test_session_start_records_the_session_and_audits_the_login(other_user):
    origin = Origin(actor=other_user, ip="198.51.100.4", user_agent="Browser/1")

    session_services.session_start(origin=origin, user=other_user, session_key="k" * 32)

    session = UserSession.objects.get(session_key="k" * 32)
    assert (session.user, session.ip, session.user_agent) == (other_user, "198.51.100.4", "Browser/1")
    event = AuditEvent.objects.get(action="auth.login")
    assert (event.target_id, event.ip, event.outcome) == (str(other_user.pk), "198.51.100.4", "success")


def test_session_end_forgets_the_session_and_audits_the_logout(other_user):
    origin = Origin(actor=other_user, ip="198.51.100.4")
    session_services.session_start(origin=origin, user=other_user, session_key="k" * 32)

    session_services.session_end(origin=origin, user=other_user, session_key="k" * 32)

    assert not UserSession.objects.filter(session_key="k" * 32).exists()
    assert AuditEvent.objects.filter(action="auth.logout", target_id=str(other_user.pk)).count() == 1
