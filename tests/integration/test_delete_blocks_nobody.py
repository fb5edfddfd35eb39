"""An open user deletion blocks no write to other users; only another deletion waits for it.

``accounts.services.user_delete`` takes its turn on one mutex row (core.Mutex) and locks only the
rows of the users it deletes, so a change to anyone else goes ahead while it is open, and a second
deletion waits for the first and then goes through. Only a database with row locks shows this:
PostgreSQL. Every thread that could wait has a lock timeout, so a regression fails fast instead of
hanging.
"""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from accounts import services
from accounts.models import User
from tests.factories import UserFactory
from tests.integration.conftest import NEW_PASSWORD

WAIT_SECONDS = 10  # the longest any thread or the test waits for another (a safety, never reached)


class HeldDeletion:
    """``user_delete`` of ``user`` in a thread of its own, its transaction held open until ``release()``."""

    def __init__(self, origin, user):
        self.held, self.released, self.error = threading.Event(), threading.Event(), None
        # A copy of its own: a deleted instance loses its pk, and the test still asks about ``user``.
        self.thread = threading.Thread(target=self._run, args=(origin, User.objects.get(pk=user.pk)))

    def __enter__(self):
        self.thread.start()
        assert self.held.wait(WAIT_SECONDS), "the deletion never got under way"
        assert self.error is None, self.error
        return self

    def __exit__(self, *exc_info):
        self.release()

    def release(self):
        self.released.set()
        self.thread.join(WAIT_SECONDS)

    def _run(self, origin, user):
        try:
            with transaction.atomic():
                services.user_delete(origin=origin, user=user)
                self.held.set()
                self.released.wait(WAIT_SECONDS)
        except Exception as error:  # handed to the test, not lost in the thread
            self.error = error
        finally:
            self.held.set()
            connections.close_all()


def in_thread(call, *, lock_timeout):
    """Run ``call()`` in a new thread whose connection waits at most ``lock_timeout`` for a lock.

    Returns (the thread, a dict that gets "result" or "error").
    """
    outcome = {}

    def run():
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = '{lock_timeout}'")
            outcome["result"] = call()
        except Exception as error:  # handed to the test, not lost in the thread
            outcome["error"] = error
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def waiting_on_a_lock(sql_fragment):
    """Whether some other connection is waiting for a lock in a statement containing ``sql_fragment``."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND wait_event_type = 'Lock' "
            "AND query LIKE %s",
            [f"%{sql_fragment}%"],
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.django_db(transaction=True)
def test_a_rename_and_a_password_change_of_another_user_do_not_wait_for_an_open_deletion(postgresql_only, origin):
    doomed, other = UserFactory(), UserFactory()
    UserFactory(parent=doomed)  # a sub-user, so the deletion locks and cascades more than one row

    def edit_other():
        user = User.objects.get(pk=other.pk)
        services.user_update(origin=origin, user=user, username="renamed-meanwhile")
        services.user_set_password(origin=origin, user=user, password=NEW_PASSWORD)

    with HeldDeletion(origin, doomed) as deletion:
        editor, outcome = in_thread(edit_other, lock_timeout="2s")
        editor.join(WAIT_SECONDS)
        # No lock timeout (an OperationalError): committed while the deletion is still open.
        assert not editor.is_alive() and "error" not in outcome, outcome.get("error")
        assert User.objects.get(pk=other.pk).username == "renamed-meanwhile"
        assert User.objects.filter(pk=doomed.pk).exists()
        assert not deletion.released.is_set()
    assert deletion.error is None, deletion.error

    edited = User.objects.get(pk=other.pk)
    assert edited.username == "renamed-meanwhile"
    assert edited.check_password(NEW_PASSWORD)
    assert not User.objects.filter(pk=doomed.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_second_deletion_waits_for_an_open_one_and_then_goes_through(postgresql_only, origin):
    first, second = UserFactory(), UserFactory()

    with HeldDeletion(origin, first) as deletion:
        deleter, outcome = in_thread(
            lambda: services.user_delete(origin=origin, user=User.objects.get(pk=second.pk)), lock_timeout="10s"
        )
        deadline = time.monotonic() + WAIT_SECONDS
        while not waiting_on_a_lock("core_mutex") and time.monotonic() < deadline:
            time.sleep(0.02)
        assert waiting_on_a_lock("core_mutex"), "the second deletion did not wait for the mutex"
        assert deleter.is_alive() and not outcome
        deletion.release()
        deleter.join(WAIT_SECONDS)
    assert deletion.error is None, deletion.error

    assert outcome == {"result": 0}, outcome  # no sub-users went with it
    assert not User.objects.filter(pk__in=[first.pk, second.pk]).exists()
