"""The second step of a password login.

After the right password, a user with a second factor is not logged in: the
session only remembers, for a few minutes, who is half-way. The verification
page logs them in once a code passes (``django.contrib.auth.login``, which
issues a new session key and writes the audit event).
"""

import time

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts.selectors import user_may_log_in
from mfa import selectors

_PENDING = "panel_mfa_pending"


def needs_second_step(user) -> bool:
    return selectors.has_second_factor(user)


def begin(request, user, *, redirect_to):
    request.session.cycle_key()
    request.session[_PENDING] = {
        "user": user.pk,
        "backend": user.backend,
        "at": int(time.time()),
        "next": redirect_to,
    }


def pending_user(request):
    """The user half-way through logging in, or None if nobody is or the step timed out."""
    pending = request.session.get(_PENDING)
    if not pending:
        return None
    if time.time() - pending["at"] > settings.PANEL_MFA_PENDING_SECONDS:
        del request.session[_PENDING]
        return None
    user = get_user_model().objects.filter(pk=pending["user"]).first()
    return user if user is not None and user_may_log_in(user) else None


def choose_method(request, method):
    """The login's "Verify with" choice starts on ``method`` from now on (the code just emailed, say)."""
    request.session[_PENDING] = {**request.session[_PENDING], "method": method}


def chosen_method(request):
    """The factor the verification form offers first, if one was chosen along the way."""
    return (request.session.get(_PENDING) or {}).get("method")


def complete(request, user):
    """Log ``user`` in for real; returns where the login was going."""
    pending = request.session.pop(_PENDING)
    login(request, user, backend=pending["backend"])
    return pending["next"]


def abandon(request):
    request.session.pop(_PENDING, None)


@receiver(user_logged_in)
def _abandon_on_login(sender, request, user, **kwargs):
    """Any completed login (a passkey's, say) ends a password login left half-way in the same session."""
    abandon(request)
