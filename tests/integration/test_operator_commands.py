"""Operator commands: `manage.py user ...` and `manage.py ensure_admin` reach the same services."""

import io
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import User
from core.models import AuditEvent
from tests.factories import AdminFactory, UserFactory

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "Zebra-Lamp-42"
SHOWN_ONCE = re.compile(r"^Password \(shown once, keep it safe\): (\S+)$", re.MULTILINE)


@pytest.fixture
def stdin(monkeypatch):
    """Feed a line to the command's standard input."""

    def feed(text):
        monkeypatch.setattr("sys.stdin", io.StringIO(text))

    return feed


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def shown_password(output):
    matches = SHOWN_ONCE.findall(output)
    assert len(matches) == 1, output
    return matches[0]


def last_event(action):
    return AuditEvent.objects.filter(action=action).latest("id")


# user create


def test_create_with_password_from_stdin_creates_a_user_that_can_log_in(stdin):
    stdin(GOOD_PASSWORD + "\n")
    output = run("user", "create", "alice", "--email", "alice@example.com", "--password-stdin")
    user = User.objects.get(username="alice")
    assert "Created user alice." in output
    assert user.email == "alice@example.com"
    assert user.check_password(GOOD_PASSWORD)
    assert not user.is_superuser


def test_create_with_password_from_stdin_never_prints_the_password(stdin):
    stdin(GOOD_PASSWORD + "\n")
    output = run("user", "create", "alice", "--email", "alice@example.com", "--password-stdin")
    assert GOOD_PASSWORD not in output


def test_create_superuser_gives_every_permission(stdin):
    stdin(GOOD_PASSWORD + "\n")
    run("user", "create", "root", "--email", "root@example.com", "--superuser", "--password-stdin")
    assert User.objects.get(username="root").is_superuser


def test_create_with_random_password_prints_a_password_that_works():
    output = run("user", "create", "bob", "--email", "bob@example.com", "--random")
    assert User.objects.get(username="bob").check_password(shown_password(output))


def test_create_records_an_operator_audit_event(stdin):
    stdin(GOOD_PASSWORD + "\n")
    run("user", "create", "alice", "--email", "alice@example.com", "--password-stdin")
    event = last_event("user.create")
    assert (event.actor, event.actor_name, event.target_name) == (None, "operator", "alice")
    assert event.user_agent == "manage.py user create"
    assert event.details["via"] == "command"
    assert GOOD_PASSWORD not in str(event.details)


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short1!", "at least 8 characters"),
        ("Zebra-Lamp-42-Cloud!x", "at most 20 characters"),
        ("abcdefghij", "at least two of: letters, digits and special characters"),
        ("password1", "too common"),
        ("alice123!", "too similar to the username"),
    ],
)
def test_create_with_weak_password_is_refused_naming_the_rule(stdin, password, rule):
    stdin(password + "\n")
    with pytest.raises(CommandError, match=rule):
        run("user", "create", "alice", "--email", "alice@example.com", "--password-stdin")
    assert not User.objects.exists()
    assert not AuditEvent.objects.filter(action="user.create").exists()


def test_create_with_taken_username_is_refused(stdin):
    UserFactory(username="alice")
    stdin(GOOD_PASSWORD + "\n")
    with pytest.raises(CommandError, match="username: This username is already taken."):
        run("user", "create", "ALICE", "--email", "other@example.com", "--password-stdin")
    assert User.objects.count() == 1


def test_create_with_invalid_username_and_email_names_both_fields(stdin):
    stdin(GOOD_PASSWORD + "\n")
    with pytest.raises(CommandError) as refused:
        run("user", "create", "al ice", "--email", "not-an-email", "--password-stdin")
    assert "username: Username may only contain letters" in str(refused.value)
    assert "email: Enter a valid email address." in str(refused.value)


def test_create_without_a_terminal_or_password_source_is_refused(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(CommandError, match="use --password-stdin or --random"):
        run("user", "create", "alice", "--email", "alice@example.com")
    assert not User.objects.exists()


# user password


def test_password_from_stdin_replaces_the_old_one(stdin):
    user = UserFactory(username="alice")
    stdin("New-Sturdy-77\n")
    output = run("user", "password", "alice", "--password-stdin")
    user.refresh_from_db()
    assert "Changed the password of alice" in output
    assert user.check_password("New-Sturdy-77")


def test_random_password_is_printed_once_and_works():
    user = UserFactory(username="alice")
    output = run("user", "password", "alice", "--random")
    user.refresh_from_db()
    assert user.check_password(shown_password(output))


def test_password_change_finds_the_user_ignoring_case(stdin):
    user = UserFactory(username="alice")
    stdin("New-Sturdy-77\n")
    run("user", "password", "ALICE", "--password-stdin")
    user.refresh_from_db()
    assert user.check_password("New-Sturdy-77")


def test_password_change_records_an_operator_audit_event(stdin):
    UserFactory(username="alice")
    stdin("New-Sturdy-77\n")
    run("user", "password", "alice", "--password-stdin")
    event = last_event("user.password_change")
    assert (event.actor_name, event.target_name, event.outcome) == ("operator", "alice", "success")
    assert "New-Sturdy-77" not in str(event.details)


def test_weak_new_password_is_refused_naming_the_rule_and_keeps_the_old_one(stdin, password):
    user = UserFactory(username="alice")
    stdin("12345678\n")
    with pytest.raises(CommandError, match="password: .*at least two of: letters, digits and special characters"):
        run("user", "password", "alice", "--password-stdin")
    user.refresh_from_db()
    assert user.check_password(password)


def test_password_for_unknown_user_is_refused(stdin):
    stdin(GOOD_PASSWORD + "\n")
    with pytest.raises(CommandError, match="No user named 'ghost'."):
        run("user", "password", "ghost", "--password-stdin")


# user username


def test_username_renames_the_user():
    user = UserFactory(username="alice")
    output = run("user", "username", "alice", "alice_smith")
    user.refresh_from_db()
    assert user.username == "alice_smith"
    assert "Renamed alice to alice_smith." in output


def test_rename_records_an_operator_audit_event():
    UserFactory(username="alice")
    run("user", "username", "alice", "alice_smith")
    event = last_event("user.update")
    assert event.actor_name == "operator"
    assert event.details["changes"] == {"username": {"from": "alice", "to": "alice_smith"}}


@pytest.mark.parametrize(
    ("new_username", "message"),
    [
        ("alice smith", "Username may only contain letters"),
        ("x" * 33, "at most 32 characters"),
        ("BOB", "This username is already taken."),
    ],
)
def test_rename_to_a_refused_username_names_the_rule_and_keeps_the_old_name(new_username, message):
    user = UserFactory(username="alice")
    UserFactory(username="bob")
    with pytest.raises(CommandError, match=message):
        run("user", "username", "alice", new_username)
    user.refresh_from_db()
    assert user.username == "alice"
    assert not AuditEvent.objects.filter(action="user.update").exists()


def test_rename_of_unknown_user_is_refused():
    with pytest.raises(CommandError, match="No user named 'ghost'."):
        run("user", "username", "ghost", "casper")


# user delete


def test_delete_removes_the_user():
    UserFactory(username="alice")
    UserFactory(username="bob")
    output = run("user", "delete", "alice")
    assert list(User.objects.values_list("username", flat=True)) == ["bob"]
    assert "Deleted user alice." in output


def test_delete_records_an_operator_audit_event():
    alice = UserFactory(username="alice")
    UserFactory(username="bob")
    run("user", "delete", "alice")
    event = last_event("user.delete")
    assert (event.actor_name, event.target_id, event.target_name, event.outcome) == (
        "operator",
        str(alice.pk),
        "alice",
        "success",
    )


def test_last_user_cannot_be_deleted():
    UserFactory(username="alice")
    with pytest.raises(CommandError, match="The last user cannot be deleted"):
        run("user", "delete", "alice")
    assert User.objects.filter(username="alice").exists()


def test_refused_deletion_of_the_last_user_is_recorded_as_a_failure():
    UserFactory(username="alice")
    with pytest.raises(CommandError):
        run("user", "delete", "alice")
    event = last_event("user.delete")
    assert (event.actor_name, event.target_name, event.outcome) == ("operator", "alice", "failure")
    assert event.details["reason"] == "last user"


def test_delete_of_unknown_user_is_refused():
    UserFactory(username="alice")
    with pytest.raises(CommandError, match="No user named 'ghost'."):
        run("user", "delete", "ghost")


# user list


def test_list_shows_every_user_newest_first_with_email_and_creation_time():
    older = UserFactory(username="older", email="older@example.com")
    newer = UserFactory(username="newer", email="newer@example.com")
    lines = run("user", "list").splitlines()
    assert lines[0].split() == ["USERNAME", "EMAIL", "CREATED", "AT", "(UTC)"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["newer", "newer@example.com"],
        ["older", "older@example.com"],
    ]
    assert f"{older.date_joined:%Y-%m-%d %H:%M}" in lines[2]
    assert f"{newer.date_joined:%Y-%m-%d %H:%M}" in lines[1]


def test_list_of_an_empty_panel_shows_only_the_header():
    lines = run("user", "list").splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("USERNAME")


# ensure_admin


@pytest.fixture
def admin_env(monkeypatch):
    for name in ("PANEL_ADMIN_USERNAME", "PANEL_ADMIN_EMAIL", "PANEL_ADMIN_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_ensure_admin_creates_an_admin_superuser_when_there_is_no_user(admin_env):
    output = run("ensure_admin")
    admin = User.objects.get()
    assert (admin.username, admin.email, admin.is_superuser) == ("admin", "admin@localhost", True)
    assert "Created the first administrator: admin" in output


def test_ensure_admin_prints_a_random_password_once_that_works(admin_env):
    output = run("ensure_admin")
    assert User.objects.get(username="admin").check_password(shown_password(output))


def test_ensure_admin_honours_the_username_email_and_password_from_the_environment(admin_env):
    admin_env.setenv("PANEL_ADMIN_USERNAME", "root")
    admin_env.setenv("PANEL_ADMIN_EMAIL", "ops@example.com")
    admin_env.setenv("PANEL_ADMIN_PASSWORD", GOOD_PASSWORD)
    output = run("ensure_admin")
    admin = User.objects.get()
    assert (admin.username, admin.email, admin.is_superuser) == ("root", "ops@example.com", True)
    assert admin.check_password(GOOD_PASSWORD)
    assert GOOD_PASSWORD not in output
    assert not SHOWN_ONCE.search(output)


def test_ensure_admin_refuses_a_weak_password_from_the_environment_naming_the_rule(admin_env):
    admin_env.setenv("PANEL_ADMIN_PASSWORD", "admin")
    with pytest.raises(CommandError, match="at least 8 characters"):
        run("ensure_admin")
    assert not User.objects.exists()


def test_ensure_admin_records_an_operator_audit_event(admin_env):
    run("ensure_admin")
    event = last_event("user.create")
    assert (event.actor_name, event.target_name, event.user_agent) == ("operator", "admin", "manage.py ensure_admin")
    assert event.details["superuser"] is True


def test_second_ensure_admin_creates_nothing(admin_env):
    run("ensure_admin")
    first = User.objects.get()
    output = run("ensure_admin")
    assert list(User.objects.all()) == [first]
    assert "Users exist already; no administrator created." in output
    assert not SHOWN_ONCE.search(output)
    assert AuditEvent.objects.filter(action="user.create").count() == 1


def test_ensure_admin_creates_nothing_when_any_user_exists(admin_env):
    AdminFactory(username="someone")
    run("ensure_admin")
    assert not User.objects.filter(username="admin").exists()


def test_never_expires_clears_an_expiry_so_an_expired_admin_gets_back_in():
    import datetime

    from django.utils import timezone

    admin = UserFactory(username="root", is_superuser=True)
    User.objects.filter(pk=admin.pk).update(expires_at=timezone.now() - datetime.timedelta(days=1))

    output = run("user", "never-expires", "root")

    admin.refresh_from_db()
    assert admin.expires_at is None
    assert "never expires now" in output
    assert last_event("user.expiry").actor_name == "operator"
