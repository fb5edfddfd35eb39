"""The periodic job (`manage.py housekeeping`): expired sessions and their records go, the audit log keeps
PANEL_AUDIT_RETENTION_DAYS, and a token's owner is emailed a week and a day before it expires, each once."""

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.management import call_command

from core.audit import Origin, audit_prune
from core.models import AuditEvent
from tests.factories import AccessTokenFactory, UserFactory, UserSessionFactory
from tests.integration.conftest import audit_details, events
from tokens import services as token_services
from usersessions import services as session_services
from usersessions.models import UserSession

pytestmark = pytest.mark.django_db

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
OPERATOR = Origin.command("housekeeping")


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """A block whose transaction commits: what core.notify queued for the commit is sent at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def housekeeping():
    out = io.StringIO()
    call_command("housekeeping", stdout=out)
    return out.getvalue()


# Sessions


def test_expired_sessions_and_their_records_are_deleted(clock):
    ended = UserSessionFactory()
    clock.shift(timedelta(days=2))  # past the session's 12 h lifetime
    live = UserSessionFactory()

    assert session_services.sessions_purge(origin=OPERATOR) == (1, 1)

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
    assert list(UserSession.objects.all()) == [live]
    assert not Session.objects.filter(session_key=ended.session_key).exists()


def test_a_record_whose_session_is_gone_is_deleted(clock):
    record = UserSessionFactory()
    Session.objects.filter(session_key=record.session_key).delete()
    clock.shift(session_services.RECORD_GRACE + timedelta(seconds=1))

    assert session_services.sessions_purge(origin=OPERATOR) == (0, 1)
    assert not UserSession.objects.exists()


def test_a_record_seen_a_moment_ago_is_kept_while_its_session_changes_key(clock):
    """A password change stores the session under a new key before the record follows (session_rekey)."""
    record = UserSessionFactory()
    Session.objects.filter(session_key=record.session_key).delete()

    assert session_services.sessions_purge(origin=OPERATOR) == (0, 0)
    assert UserSession.objects.filter(pk=record.pk).exists()


def test_the_purge_is_one_operator_event_with_the_counts(clock):
    UserSessionFactory()
    clock.shift(timedelta(days=2))

    session_services.sessions_purge(origin=OPERATOR)

    (event,) = events("session.purge")
    assert (event.actor, event.actor_name) == (None, "operator")
    assert audit_details(event) == {"expired_sessions": 1, "records": 1}


def test_a_purge_with_nothing_to_delete_writes_no_event():
    UserSessionFactory()
    assert session_services.sessions_purge(origin=OPERATOR) == (0, 0)
    assert events("session.purge") == []


# Audit retention


def _events_at(when, count):
    for _ in range(count):
        AuditEvent.objects.create(created_at=when, action="auth.login", actor_name="someone")


def test_events_older_than_the_retention_are_deleted_in_batches(settings, clock):
    settings.PANEL_AUDIT_RETENTION_DAYS = 30
    _events_at(T0 - timedelta(days=31), 7)
    _events_at(T0 - timedelta(days=29), 2)

    pruned = audit_prune(origin=OPERATOR, batch_size=3)

    assert (pruned.deleted, pruned.cutoff) == (7, T0 - timedelta(days=30))
    assert AuditEvent.objects.filter(action="auth.login").count() == 2


def test_the_prune_leaves_one_event_saying_how_many_went_and_the_cutoff(settings, clock):
    settings.PANEL_AUDIT_RETENTION_DAYS = 30
    _events_at(T0 - timedelta(days=40), 4)

    audit_prune(origin=OPERATOR)

    (event,) = events("audit.prune")
    assert (event.actor_name, event.target_name) == ("operator", "audit log")
    cutoff = (T0 - timedelta(days=30)).isoformat()
    assert audit_details(event) == {"deleted": 4, "cutoff": cutoff, "retention_days": 30}


def test_a_retention_of_zero_keeps_every_event(settings, clock):
    settings.PANEL_AUDIT_RETENTION_DAYS = 0
    _events_at(T0 - timedelta(days=3650), 3)

    assert audit_prune(origin=OPERATOR).cutoff is None
    assert AuditEvent.objects.count() == 3


def test_a_prune_with_nothing_old_writes_no_event(settings, clock):
    settings.PANEL_AUDIT_RETENTION_DAYS = 30
    _events_at(T0 - timedelta(days=1), 2)

    assert audit_prune(origin=OPERATOR).deleted == 0
    assert AuditEvent.objects.count() == 2


# Token-expiry reminders


def _remind(committed):
    with committed():
        return token_services.token_expiry_reminders_send(origin=OPERATOR)


def _token(*, expires_in, made_ago=timedelta(days=30), **fields):
    return AccessTokenFactory(expires_at=T0 + expires_in, created_at=T0 - made_ago, **fields)


def test_the_owner_is_emailed_a_week_before_the_token_expires(clock, committed):
    token = _token(expires_in=timedelta(days=7), name="deploy bot", user=UserFactory(username="carol"))

    assert _remind(committed) == 1

    (message,) = mail.outbox
    assert message.to == ["carol@example.com"]
    assert message.subject.endswith("An access token expires on 2025-03-08 12:00 UTC")
    assert f"Token:      {token.pk} (deploy bot)" in message.body
    assert "expires in 1 week" in message.body
    assert "Expires:    2025-03-08 12:00 UTC" in message.body


def test_the_reminder_holds_no_secret(clock, committed):
    token = _token(expires_in=timedelta(days=6))
    _remind(committed)
    (message,) = mail.outbox
    assert token.secret not in message.body
    assert token.encrypted_secret not in message.body


def test_no_reminder_more_than_a_week_before(clock, committed):
    _token(expires_in=timedelta(days=7, seconds=1))
    assert _remind(committed) == 0
    assert mail.outbox == []


def test_each_reminder_goes_once_however_often_the_job_runs(clock, committed):
    _token(expires_in=timedelta(days=5))
    assert [_remind(committed) for _ in range(3)] == [1, 0, 0]
    clock.shift(timedelta(hours=1))
    assert _remind(committed) == 0
    assert len(mail.outbox) == 1


def test_the_day_reminder_follows_the_week_reminder(clock, committed):
    token = _token(expires_in=timedelta(days=7))
    _remind(committed)
    clock.shift(timedelta(days=5, hours=23))
    assert _remind(committed) == 0
    clock.shift(timedelta(hours=1))

    assert _remind(committed) == 1
    assert "expires in 1 day" in mail.outbox[-1].body
    clock.shift(timedelta(hours=12))
    assert _remind(committed) == 0
    assert len(mail.outbox) == 2
    token.refresh_from_db()
    assert token.expiry_reminder_days == 1


def test_a_token_first_seen_a_day_before_gets_only_the_day_reminder(clock, committed):
    _token(expires_in=timedelta(hours=20))
    assert _remind(committed) == 1
    assert _remind(committed) == 0
    assert "expires in 20 hours" in mail.outbox[0].body


def test_a_token_made_within_the_week_skips_the_week_reminder(clock, committed):
    _token(expires_in=timedelta(days=3), made_ago=timedelta(hours=1))
    assert _remind(committed) == 0
    clock.shift(timedelta(days=2))
    assert _remind(committed) == 1


def test_an_expired_token_gets_no_reminder(clock, committed):
    _token(expires_in=timedelta(seconds=0))
    _token(expires_in=-timedelta(hours=1))
    assert _remind(committed) == 0


def test_an_inactive_owner_is_not_emailed(clock, committed):
    _token(expires_in=timedelta(days=2), user=UserFactory(is_active=False))
    assert _remind(committed) == 0
    assert mail.outbox == []


def test_a_new_expiry_gets_its_own_reminders(clock, committed):
    token = _token(expires_in=timedelta(days=6))
    _remind(committed)
    with committed():
        token_services.token_update(origin=OPERATOR, token=token, expires_at=T0 + timedelta(days=6, hours=12))
    mail.outbox.clear()

    assert _remind(committed) == 1
    assert "2025-03-08 00:00 UTC" in mail.outbox[0].body


def test_a_change_that_keeps_the_expiry_keeps_the_reminders_sent(clock, committed):
    token = _token(expires_in=timedelta(days=6))
    _remind(committed)
    token_services.token_update(origin=OPERATOR, token=token, name="renamed", expires_at=token.expires_at)

    assert _remind(committed) == 0


def test_a_reminder_read_before_the_expiry_changed_is_not_sent(clock, committed):
    """Another run (or an edit) got there first: the claim matches the row as it was read, or nothing."""
    stale = _token(expires_in=timedelta(days=6))
    type(stale).objects.filter(pk=stale.pk).update(expires_at=T0 + timedelta(days=5))

    with committed():
        assert token_services._remind(OPERATOR, stale, 7) is False
    assert mail.outbox == []
    assert events("token.expiry_reminder") == []


def test_each_reminder_is_one_operator_event(clock, committed):
    token = _token(expires_in=timedelta(days=6), user=UserFactory(username="carol"))
    _remind(committed)

    (event,) = events("token.expiry_reminder")
    assert (event.actor_name, event.target_id) == ("operator", str(token.pk))
    assert audit_details(event) == {"owner": "carol", "days_before": 7, "expires_at": token.expires_at.isoformat()}


# The command


def test_housekeeping_does_each_step_and_says_what_it_did(settings, clock, django_capture_on_commit_callbacks):
    settings.PANEL_AUDIT_RETENTION_DAYS = 30
    UserSessionFactory()
    _events_at(T0 - timedelta(days=29), 2)
    clock.shift(timedelta(days=2))
    _token(expires_in=timedelta(days=8))

    with django_capture_on_commit_callbacks(execute=True):
        output = housekeeping()

    assert output.splitlines() == [
        "Sessions: 1 expired deleted, 1 session records of ended ones deleted.",
        "Audit log: 2 events from before 2025-02-01 12:00 UTC deleted.",
        "Token expiry reminders: 1 emailed.",
    ]
    assert len(mail.outbox) == 1


def test_housekeeping_run_again_changes_nothing_more(settings, clock, django_capture_on_commit_callbacks):
    UserSessionFactory()
    clock.shift(timedelta(days=2))
    _token(expires_in=timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        housekeeping()
    before = AuditEvent.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        output = housekeeping()

    assert "Sessions: 0 expired deleted, 0 session records" in output
    assert "Token expiry reminders: 0 emailed." in output
    assert AuditEvent.objects.count() == before
    assert len(mail.outbox) == 1


def test_housekeeping_with_retention_zero_says_every_event_is_kept(settings):
    settings.PANEL_AUDIT_RETENTION_DAYS = 0
    assert "Audit log: every event kept (PANEL_AUDIT_RETENTION_DAYS is 0)." in housekeeping()
