"""The audit log: ``Origin`` says who acts and from where; ``record`` writes the event.

Services take an ``origin`` and call ``record`` inside their transaction, so an
event exists exactly when its change does.
"""

from dataclasses import dataclass

from core.client_ip import get_client_ip
from core.models import AuditEvent

# Keys that could carry a secret are refused outright rather than scrubbed,
# so a mistake fails loudly in tests instead of leaking quietly.
_FORBIDDEN_DETAIL_WORDS = ("password", "secret", "token", "code", "key")


@dataclass(frozen=True)
class Origin:
    """Who is acting (a user, or None for an operator or anonymous caller) and from where."""

    actor: object = None
    ip: str | None = None
    user_agent: str = ""
    via: str = "web"
    # The access token a script acted with, when it did.
    credential: int | None = None

    @classmethod
    def from_request(cls, request, *, via="web", credential=None):
        user = getattr(request, "user", None)
        return cls(
            actor=user if user is not None and user.is_authenticated else None,
            ip=get_client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:256],
            via=via,
            credential=credential,
        )

    @classmethod
    def command(cls, name):
        """An operator running ``manage.py <name>`` on the server."""
        return cls(user_agent=f"manage.py {name}"[:256], via="command")


def record(*, origin, action, target=None, target_name="", outcome=AuditEvent.Outcome.SUCCESS, details=None):
    """Write one audit event. ``target`` is a model instance or None."""
    details = dict(details or {})
    for key in details:
        if any(word in key.lower() for word in _FORBIDDEN_DETAIL_WORDS):
            raise ValueError(f"Audit details may not carry {key!r}.")
    actor = origin.actor
    return AuditEvent.objects.create(
        actor=actor,
        actor_name=actor.get_username() if actor is not None else ("operator" if origin.via == "command" else ""),
        action=action,
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_name=(target_name or (str(target) if target is not None else ""))[:128],
        ip=origin.ip,
        user_agent=origin.user_agent,
        outcome=outcome,
        details={**details, "via": origin.via, **({"credential": origin.credential} if origin.credential else {})},
    )


# Which events a reader may see. The panel knows nothing of companies; the accounts app sets this
# (AccountsConfig.ready) so that a company admin reads only the events of their own scope.
_event_scope = None


def set_event_scope(scope_function):
    """``scope_function(reader, events)`` narrows a queryset of AuditEvent to what ``reader`` may see."""
    global _event_scope
    _event_scope = scope_function


def events_visible_to(reader):
    events = AuditEvent.objects.all()
    return _event_scope(reader, events) if _event_scope is not None else events
