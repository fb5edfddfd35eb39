"""Login sessions: a user's browsers (see them, end any) and a user's session policy.

These pages compose usersessions (the sessions and their rules) with the data scope
(organisation.scope): your own, or, with accounts.change_user, anyone's in your scope.
"""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from core.audit import Origin
from core.view_helpers import paging, posted
from organisation import scope
from panel.forms import SessionPolicyForm
from usersessions import selectors as session_selectors
from usersessions import services as session_services

MANAGE_PERMISSION = "accounts.change_user"
# The session list's page size by default (20/50/100/200 offered).
SESSIONS_PER_PAGE = 20


def session_owner(*, actor, user_id):
    """The user whose sessions ``actor`` wants to see or end: themselves, or anyone when they may change users."""
    return scope.self_or_permitted(actor=actor, user_id=user_id, permission=MANAGE_PERMISSION)


def session_list(request, user_id):
    owner = session_owner(actor=request.user, user_id=user_id)
    asked = paging(request, default_size=SESSIONS_PER_PAGE)
    sessions = session_selectors.sessions_shown(
        owner=owner, current_key=request.session.session_key, page=asked.number, per_page=asked.size
    )
    context = {**asked.context(sessions), "owner": owner, "own": owner.pk == request.user.pk}
    return render(request, "usersessions/session_list.html", context)


@require_POST
def session_end(request, user_id, session_id):
    owner = session_owner(actor=request.user, user_id=user_id)
    session = session_selectors.session_get(owner=owner, session_id=session_id)
    current = session.session_key == request.session.session_key
    session_services.session_end_one(origin=Origin.from_request(request), session=session)
    if current:
        request.session.flush()  # its row is gone already; see user_delete
        return redirect(reverse("login"))
    if session.ip:
        messages.success(request, _("The session from %(ip)s was ended.") % {"ip": session.ip})
    else:
        messages.success(request, _("The session from an unknown address was ended."))
    return redirect("sessions:session_list", user_id=owner.pk)


@require_POST
def sessions_end_all(request, user_id):
    owner = session_owner(actor=request.user, user_id=user_id)
    own = owner.pk == request.user.pk
    ended = session_services.sessions_end_all(
        origin=Origin.from_request(request), user=owner, except_key=request.session.session_key if own else None
    )
    if own:
        ended_text = ngettext("%(count)d other session ended.", "%(count)d other sessions ended.", ended)
    else:
        ended_text = ngettext("%(count)d session ended.", "%(count)d sessions ended.", ended)
    messages.success(request, ended_text % {"count": ended})
    return redirect("sessions:session_list", user_id=owner.pk)


@permission_required("accounts.change_user", raise_exception=True)
@require_http_methods(["GET", "POST"])
def user_session_policy(request, pk):
    user = scope.user_get(actor=request.user, pk=pk, action="session_policy")
    form = SessionPolicyForm.for_user(user, posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            session_services.session_policy_set(origin=Origin.from_request(request), user=user, **form.policy())
        except ValidationError as error:
            for message in error.messages:
                form.add_error("session_lifetime_minutes", message)
        else:
            messages.success(request, _("The session policy of %(name)s was saved.") % {"name": user.username})
            return redirect("accounts:user_list")
    context = {"target": user, "form": form}
    return render(request, "usersessions/session_policy.html", context, status=400 if form.errors else 200)
