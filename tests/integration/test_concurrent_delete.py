"""Two admins deleting the last two users at the same moment: one wins, one is refused.

``accounts.services.user_delete`` locks every user row before counting, so the
deletions are serialised and the panel is never left without a user. Only a
database with row locks shows this: PostgreSQL.
"""

from functools import partial

import pytest

from accounts import services
from accounts.models import User
from core.audit import Origin
from core.models import AuditEvent
from tests.factories import UserFactory
from tests.helpers import at_the_same_moment

ROUNDS = 5


def _delete_at_the_same_moment(user_pks):
    """Each user deleted by its own thread with its own connection; returns each one's outcome by pk."""
    users = [User.objects.get(pk=pk) for pk in user_pks]

    def delete(user):
        try:
            services.user_delete(origin=Origin(ip="192.0.2.1", user_agent=f"thread deleting {user.pk}"), user=user)
        except services.LastUserError:
            return "refused"
        return "deleted"

    outcomes = at_the_same_moment(*(partial(delete, user) for user in users))
    return dict(zip(user_pks, outcomes, strict=True))  # by the pks given: a deleted User object has pk None


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
