"""A user's login sessions: see them and end any (your own, or anyone's with accounts.change_user)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts import selectors
from core.audit import Origin
from usersessions import devices
from usersessions import selectors as session_selectors
from usersessions import services as session_services


def session_list(request, user_id):
    owner = selectors.session_owner(actor=request.user, user_id=user_id)
    sessions = list(session_selectors.active_sessions(owner=owner))
    for session in sessions:
        session.device = devices.describe(session.user_agent)
        session.current = session.session_key == request.session.session_key
    context = {"owner": owner, "own": owner.pk == request.user.pk, "sessions": sessions}
    return render(request, "usersessions/session_list.html", context)


@require_POST
def session_end(request, user_id, session_id):
    owner = selectors.session_owner(actor=request.user, user_id=user_id)
    session = session_selectors.session_get(owner=owner, session_id=session_id)
    current = session.session_key == request.session.session_key
    session_services.session_end_one(origin=Origin.from_request(request), session=session)
    if current:
        request.session.flush()  # its row is gone already; see user_delete
        return redirect(reverse("login"))
    messages.success(request, f"The session from {session.ip or 'an unknown address'} was ended.")
    return redirect("accounts:session_list", user_id=owner.pk)


@require_POST
def sessions_end_all(request, user_id):
    owner = selectors.session_owner(actor=request.user, user_id=user_id)
    own = owner.pk == request.user.pk
    ended = session_services.sessions_end_all(
        origin=Origin.from_request(request), user=owner, except_key=request.session.session_key if own else None
    )
    what = "other session" if own else "session"
    messages.success(request, f"{ended} {what}{pluralize(ended)} ended.")
    return redirect("accounts:session_list", user_id=owner.pk)
