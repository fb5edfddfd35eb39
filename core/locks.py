"""Locks that make two requests changing the same thing at the same moment take turns."""

from django.contrib.auth import get_user_model

from core.models import Mutex


def lock_user(user):
    """Lock ``user``'s row until the current transaction ends; DoesNotExist if it was deleted meanwhile.

    Call it first in a transaction that changes one user, or reads their rows and then replaces them
    (their sessions, their recovery codes): a second such transaction for the same user waits here,
    then sees what the first one committed. A deletion that went first leaves the change refused (a
    404) instead of writing to a row that is gone, which ``save()`` would even put back. Only one user
    is locked, so changes to other users never wait.
    """
    User = get_user_model()
    if not User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True):
        raise User.DoesNotExist("This user no longer exists.")


def hold_mutex(name):
    """Wait for the mutex ``name`` (a row of core.Mutex), then hold it until the current transaction ends.

    On PostgreSQL this is the row's lock (the row is made the first time). SQLite runs one writing
    transaction at a time already (``transaction_mode`` IMMEDIATE), so there it costs a read.
    """
    Mutex.objects.select_for_update().get_or_create(name=name)
