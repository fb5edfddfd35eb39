"""Two admins deleting the last two users at the same moment: one wins, one is refused.

``accounts.services.user_delete`` locks every user row before counting, so the
deletions are serialised and the panel is never left without a user. Only a
database with row locks shows this: PostgreSQL.
"""

import threading

import pytest
from django.db import connection

from accounts import services
from accounts.models import User
from core.audit import Origin
from core.models import AuditEvent
from tests.factories import UserFactory

ROUNDS = 5
BARRIER_TIMEOUT = 30


def _delete_at_the_same_moment(user_pks):
    """Each user deleted by its own thread with its own connection; returns each thread's outcome."""
    barrier = threading.Barrier(len(user_pks), timeout=BARRIER_TIMEOUT)
    outcomes = {}

    def attempt(pk):
        try:
            user = User.objects.get(pk=pk)
            origin = Origin(ip="192.0.2.1", user_agent=f"thread deleting {pk}")
            barrier.wait()
            services.user_delete(origin=origin, user=user)
            outcomes[pk] = "deleted"
        except services.LastUserError:
            outcomes[pk] = "refused"
        except Exception as error:  # reported by the test, not lost in the thread
            outcomes[pk] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(pk,)) for pk in user_pks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_deletion_of_the_last_two_users_leaves_exactly_one(postgresql_only, round_):
    first, second = UserFactory(), UserFactory()

    outcomes = _delete_at_the_same_moment([first.pk, second.pk])

    assert sorted(map(str, outcomes.values())) == ["deleted", "refused"], outcomes
    survivor = next(pk for pk, outcome in outcomes.items() if outcome == "refused")
    assert list(User.objects.values_list("pk", flat=True)) == [survivor]


@pytest.mark.django_db(transaction=True)
def test_concurrent_deletion_records_one_success_and_one_refusal(postgresql_only):
    first, second = UserFactory(), UserFactory()

    outcomes = _delete_at_the_same_moment([first.pk, second.pk])

    deleted = next(pk for pk, outcome in outcomes.items() if outcome == "deleted")
    refused = next(pk for pk, outcome in outcomes.items() if outcome == "refused")
    events = AuditEvent.objects.filter(action="user.delete")
    assert sorted(events.values_list("target_id", "outcome")) == sorted(
        [(str(deleted), "success"), (str(refused), "failure")]
    )


@pytest.mark.django_db
def test_deleting_the_second_of_two_users_one_after_the_other_is_refused():
    first, second = UserFactory(), UserFactory()
    origin = Origin(user_agent="sequential")
    services.user_delete(origin=origin, user=first)
    with pytest.raises(services.LastUserError):
        services.user_delete(origin=origin, user=second)
    assert list(User.objects.all()) == [second]
