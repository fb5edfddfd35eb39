"""Two housekeeping runs at the same moment (a timer and an operator, say) do the work once between them:
each reminder is emailed once, each old event and expired session deleted once and counted once.

A reminder is claimed with a conditional UPDATE (tokens.services._remind) that only one run can win; only
a database with row locks and real concurrency shows it: PostgreSQL.
"""

from datetime import timedelta
from functools import partial

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.utils import timezone

from core.audit import Origin, audit_prune
from core.models import AuditEvent
from tests.factories import AccessTokenFactory, UserSessionFactory
from tests.helpers import at_the_same_moment
from tests.integration.conftest import events
from tokens import services as token_services
from usersessions import services as session_services
from usersessions.models import UserSession

ROUNDS = 10
TOKENS = 5


def _twice_at_once(service, **kwargs):
    origins = [Origin.command(f"housekeeping run {run}") for run in (1, 2)]
    return at_the_same_moment(*(partial(service, origin=origin, **kwargs) for origin in origins))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_runs_at_once_email_each_reminder_once(postgresql_only, round_):
    now = timezone.now()
    tokens = [
        AccessTokenFactory(expires_at=now + timedelta(days=3), created_at=now - timedelta(days=30))
        for _ in range(TOKENS)
    ]

    sent = _twice_at_once(token_services.token_expiry_reminders_send)

    assert sum(sent) == TOKENS, sent
    assert sorted(message.to[0] for message in mail.outbox) == sorted(token.user.email for token in tokens)
    assert len(events("token.expiry_reminder")) == TOKENS


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(ROUNDS // 2))
def test_two_prunes_at_once_delete_and_count_each_old_event_once(postgresql_only, settings, round_):
    settings.PANEL_AUDIT_RETENTION_DAYS = 30
    old = timezone.now() - timedelta(days=31)
    AuditEvent.objects.bulk_create([AuditEvent(created_at=old, action="auth.login") for _ in range(50)])

    outcomes = _twice_at_once(audit_prune, batch_size=7)

    assert sum(pruned.deleted for pruned in outcomes) == 50, outcomes
    assert not AuditEvent.objects.filter(created_at__lte=old).exists()
    assert sum(event.details["deleted"] for event in events("audit.prune")) == 50


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(ROUNDS // 2))
def test_two_session_purges_at_once_delete_and_count_each_session_once(postgresql_only, round_):
    sessions = [UserSessionFactory() for _ in range(4)]
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    UserSession.objects.update(last_seen_at=timezone.now() - timedelta(days=1))

    outcomes = _twice_at_once(session_services.sessions_purge)

    assert [sum(counts) for counts in zip(*outcomes, strict=True)] == [len(sessions), len(sessions)], outcomes
    assert not Session.objects.exists()
    assert not UserSession.objects.exists()
