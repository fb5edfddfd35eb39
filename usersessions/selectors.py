"""Reads of users' login sessions."""

from django.contrib.sessions.models import Session
from django.db.models import Exists, OuterRef
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.pagination import NearerEndPaginator
from usersessions import devices
from usersessions.models import UserSession


def active_sessions(*, owner):
    """``owner``'s sessions whose stored session has not expired, most recently seen first.

    A session idle past its timeout is listed until its browser's next request logs it out.
    """
    alive = Session.objects.filter(session_key=OuterRef("session_key"), expire_date__gt=timezone.now())
    return UserSession.objects.filter(Exists(alive), user=owner).order_by("-last_seen_at", "-id")


def session_recorded(*, session_key) -> bool:
    """Whether the session ``session_key`` is still recorded, i.e. nothing has ended it."""
    return UserSession.objects.filter(session_key=session_key).exists()


def session_get(*, owner, session_id):
    """One of ``owner``'s sessions, or 404."""
    return get_object_or_404(UserSession.objects.filter(user=owner), pk=session_id)


def sessions_shown(*, owner, current_key, page=1, per_page=20):
    """A page of ``owner``'s active sessions, each with ``device`` (a readable name) and ``current``.

    Most recently seen first (then newest ``id``: a stable order); past the end, the last page.
    """
    shown = NearerEndPaginator(active_sessions(owner=owner), per_page).get_page(page)
    shown.object_list = list(shown.object_list)
    for session in shown.object_list:
        session.device = devices.describe(session.user_agent)
        session.current = session.session_key == current_key
    return shown
