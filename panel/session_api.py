"""Login sessions over the JSON API: a user's browsers (list, end one, end all) and their session policy.

The same rules as the session pages (panel.session_views), which compose usersessions with the data
scope: your own sessions, or, with accounts.change_user, anyone's in your scope; the policy is never
your own unless you are a superuser.
"""

from datetime import datetime

from ninja import Field, Query, Router, Schema, Status

from core.api import BodyIn, PageQuery, api_origin, errors, page_of, paged, require_permission, stated
from organisation import scope
from panel.session_views import MANAGE_PERMISSION, session_owner
from usersessions import devices
from usersessions import selectors as session_selectors
from usersessions import services as session_services
from usersessions.validators import SESSION_LIFETIME_MAX_DAYS, SESSION_LIFETIME_MIN_MINUTES

router = Router(tags=["sessions"])


class SessionOut(Schema):
    id: int
    ip: str | None
    user_agent: str
    device: str = Field(description='A readable name of the browser, like "Firefox on Linux".')
    created_at: datetime = Field(description="When it logged in.")
    last_seen_at: datetime
    current: bool = Field(description="Whether it is the browser session making this request.")

    @staticmethod
    def resolve_device(session):
        return devices.describe(session.user_agent)

    @staticmethod
    def resolve_current(session, context):
        return session.session_key == context["request"].session.session_key


SessionPage = page_of(SessionOut, "SessionPage")


class SessionsEndedOut(Schema):
    sessions_ended: int


LIFETIME_MIN_SECONDS = SESSION_LIFETIME_MIN_MINUTES * 60
LIFETIME_MAX_SECONDS = SESSION_LIFETIME_MAX_DAYS * 86400


class SessionPolicy(Schema):
    long_term_sessions: bool = Field(description="Sessions never time out: they last while the browser keeps them.")
    # Stated, not checked by pydantic: the service's validator answers, with the page's words.
    session_lifetime: int | None = stated(
        description=(
            f"Seconds a login lasts however active, {LIFETIME_MIN_SECONDS} ({SESSION_LIFETIME_MIN_MINUTES} minutes) "
            f"to {LIFETIME_MAX_SECONDS} ({SESSION_LIFETIME_MAX_DAYS} days); null: the panel's default. "
            "Not together with long_term_sessions."
        ),
        minimum=LIFETIME_MIN_SECONDS,
        maximum=LIFETIME_MAX_SECONDS,
    )
    exclusive_login: bool = Field(description="A new login signs this user out of every other browser.")


class SessionPolicyIn(BodyIn, SessionPolicy):
    """The whole policy: every field is given."""


@router.get(
    "/users/{user_id}/sessions",
    response={200: SessionPage, **errors(403, 404, 422)},
    summary="A user's login sessions, most recently seen first",
    operation_id="sessions_list",
)
def session_list(request, user_id: int, query: Query[PageQuery]):
    owner = session_owner(actor=request.user, user_id=user_id)
    return paged(session_selectors.active_sessions(owner=owner), query)


@router.delete(
    "/users/{user_id}/sessions/{session_id}",
    response={204: None, **errors(403, 404, 422)},
    summary="End one login session; its browser is logged out",
    operation_id="sessions_delete",
)
def session_end(request, user_id: int, session_id: int):
    owner = session_owner(actor=request.user, user_id=user_id)
    session = session_selectors.session_get(owner=owner, session_id=session_id)
    current = session.session_key == request.session.session_key
    session_services.session_end_one(origin=api_origin(request), session=session)
    if current:
        request.session.flush()  # its row is gone already, as on the page
    return Status(204, None)


@router.delete(
    "/users/{user_id}/sessions",
    response={200: SessionsEndedOut, **errors(403, 404, 422)},
    summary="End all of a user's login sessions (for your own, all but the browser asking)",
    operation_id="sessions_end_all",
)
def sessions_end_all(request, user_id: int):
    owner = session_owner(actor=request.user, user_id=user_id)
    own = owner.pk == request.user.pk
    except_key = request.session.session_key if own else None
    ended = session_services.sessions_end_all(origin=api_origin(request), user=owner, except_key=except_key)
    return {"sessions_ended": ended}


def _policy_subject(request, user_id):
    require_permission(request, MANAGE_PERMISSION)
    return scope.user_get(actor=request.user, pk=user_id, action="session_policy")


@router.get(
    "/users/{user_id}/session-policy",
    response={200: SessionPolicy, **errors(403, 404, 422)},
    summary="How long a user's login sessions last, and whether a new login ends the others",
    operation_id="session_policy_get",
)
def session_policy_get(request, user_id: int):
    return _policy_subject(request, user_id)


@router.put(
    "/users/{user_id}/session-policy",
    response={200: SessionPolicy, **errors(403, 404, 422)},
    summary="Set a user's session policy (open sessions follow it from their next request)",
    operation_id="session_policy_set",
)
def session_policy_set(request, user_id: int, body: SessionPolicyIn):
    user = _policy_subject(request, user_id)
    return session_services.session_policy_set(origin=api_origin(request), user=user, **body.dict())
