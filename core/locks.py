"""Row locks that serialise one user's changes made by two requests at the same moment."""

from django.contrib.auth import get_user_model


def lock_user(user):
    """Lock ``user``'s row until the current transaction ends.

    Call it first in a transaction that reads a user's rows and then replaces them (their sessions,
    their recovery codes): a second such transaction for the same user waits here, then sees what
    the first one committed. Only one user is locked, so logins of other users never wait.
    """
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
