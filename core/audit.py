"""The audit log: ``Origin`` says who acts and from where; ``record`` writes the event.

Services take an ``origin`` and call ``record`` inside their transaction, so an
event exists exactly when its change does.
"""

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.client_ip import get_client_ip
from core.models import AuditEvent

logger = logging.getLogger("panel.audit")

# Every kind of event the panel writes, with what it means: one catalogue, so that a misspelt action
# fails loudly in tests instead of writing an event no filter finds.
EVENTS = {
    "auth.login": "Logged in with a password, or failed to",
    "auth.logout": "Logged out",
    "auth.lockout": "An account (or one browser's attempts at it) was locked after too many failed attempts",
    "auth.unlock": "Lifted the lock of an account or a client address (an admin, or the operator)",
    "auth.password_reset_request": "Asked for a password reset email",
    "auth.reauth": "Confirmed their password (and second factor) for a sensitive change",
    "user.create": "Created a user",
    "user.update": "Changed a user's username or email",
    "user.expiry": "Set when an account (or a whole company's) expires",
    "user.move": "Moved a user (with its sub-users) to another company",
    "user.enable": "Enabled an account",
    "user.disable": "Disabled an account: it cannot log in, its sessions ended, its tokens are refused",
    "user.password_change": "Changed a password",
    "user.password_reset": "Set a new password through an emailed link",
    "user.session_policy": "Changed a user's login-session policy",
    "user.notifications": "Turned a user's new-login emails on or off",
    "user.preferences": "Changed a user's language or time zone",
    "user.access": "Changed a user's roles and direct permissions",
    "user.delete": "Deleted a user (with its sub-users)",
    "session.end": "Ended one login session",
    "session.end_all": "Ended every login session of a user",
    "session.purge": "Cleared away expired login sessions and the records of ended ones (the periodic job)",
    "company.create": "Created a company",
    "company.update": "Renamed or moved a company",
    "company.delete": "Deleted a company",
    "role.create": "Created a role",
    "role.update": "Changed a role",
    "role.delete": "Deleted a role",
    "token.create": "Created an access token",
    "token.update": "Changed an access token",
    "token.delete": "Deleted an access token",
    "token.refused": "Refused an API request's token",
    "token.expiry_reminder": "Emailed a token's owner that it expires soon (a week and a day before)",
    "mfa.totp.enrol_start": "Started enrolling an authenticator app",
    "mfa.totp.enable": "Turned on an authenticator app",
    "mfa.email.code_sent": "Sent a login code by email",
    "mfa.email.enable": "Turned on email codes",
    "mfa.email.disable": "Turned off email codes",
    "mfa.recovery.regenerate": "Made a new set of recovery codes",
    "mfa.recovery.use": "Used a recovery code at login",
    "mfa.verify": "Passed (or failed) the login's second step",
    "mfa.disable": "Turned two-factor authentication off",
    "passkey.register": "Registered a passkey",
    "passkey.login": "Logged in with a passkey, or failed to",
    "passkey.clone_suspected": "Refused a passkey whose signature counter went back (a cloned authenticator?)",
    "passkey.delete": "Deleted a passkey",
    "audit.prune": "Deleted the audit events older than PANEL_AUDIT_RETENTION_DAYS (the periodic job)",
    "audit.export": "Downloaded or exported audit events (the format, the filters and how many)",
    "database.backup": "Backed up the SQLite database to a file (the operator)",
    "database.restore": "Restored the SQLite database from a backup file (the operator)",
}

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
    # The actor was deleted (by a change that ran first) while this one waited its turn: events name them
    # but cannot point at their row.
    actor_deleted: bool = False

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

    def with_actor_deleted(self):
        return replace(self, actor_deleted=True)

    @classmethod
    def command(cls, name):
        """An operator running ``manage.py <name>`` on the server."""
        return cls(user_agent=f"manage.py {name}"[:256], via="command")


def record(*, origin, action, target=None, target_name="", outcome=AuditEvent.Outcome.SUCCESS, details=None):
    """Write one audit event of a kind in ``EVENTS``. ``target`` is a model instance or None."""
    if action not in EVENTS:
        raise ValueError(f"Unknown audit action {action!r}: add it to core.audit.EVENTS.")
    details = dict(details or {})
    for key in details:
        if any(word in key.lower() for word in _FORBIDDEN_DETAIL_WORDS):
            raise ValueError(f"Audit details may not carry {key!r}.")
    actor = origin.actor
    actor_company_id, target_company_id = _event_companies(actor, target) if _event_companies else (None, None)
    event = AuditEvent.objects.create(
        actor=None if origin.actor_deleted else actor,
        actor_name=actor.get_username() if actor is not None else ("operator" if origin.via == "command" else ""),
        action=action,
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_name=(target_name or (str(target) if target is not None else ""))[:128],
        ip=origin.ip,
        user_agent=origin.user_agent,
        outcome=outcome,
        actor_company_id=actor_company_id,
        target_company_id=target_company_id,
        details={**details, "via": origin.via, **({"credential": origin.credential} if origin.credential else {})},
    )
    _log(event)
    return event


def _log(event):
    """One line per event: its action, actor, target and outcome. Never its details, nor the target's name
    (a failed login's is whatever was typed as the username, a password pasted there included)."""
    fields = {
        "action": event.action,
        "actor": event.actor_name or "-",
        "target": f"{event.target_type}:{event.target_id}" if event.target_type else "-",
        "outcome": event.outcome,
        "via": event.details["via"],
    }
    logger.info("audit %s", " ".join(f"{name}={value}" for name, value in fields.items()), extra={"fields": fields})


# How many events one DELETE removes: a prune of a million events never holds one long transaction.
PRUNE_BATCH_SIZE = 10_000


@dataclass(frozen=True)
class Pruned:
    deleted: int
    cutoff: datetime | None  # None: PANEL_AUDIT_RETENTION_DAYS is 0, every event is kept


def audit_prune(*, origin, batch_size=PRUNE_BATCH_SIZE):
    """Delete the events older than ``PANEL_AUDIT_RETENTION_DAYS`` days (0 keeps them all), oldest first.

    Each batch is its own transaction, taken by the ``created_at`` index, so a large backlog neither locks
    the log for long nor fails as a whole; two prunes at once share the work. When anything went, one
    event says how many and the cut-off (it is new, so it stays).
    """
    days = settings.PANEL_AUDIT_RETENTION_DAYS
    if not days:
        return Pruned(deleted=0, cutoff=None)
    cutoff = timezone.now() - timedelta(days=days)
    old = AuditEvent.objects.filter(created_at__lt=cutoff).order_by("created_at")
    deleted = 0
    while True:
        with transaction.atomic():
            count, _ = AuditEvent.objects.filter(pk__in=old.values("pk")[:batch_size]).delete()
        deleted += count
        if count < batch_size:
            break
    if deleted:
        details = {"deleted": deleted, "cutoff": cutoff.isoformat(), "retention_days": days}
        record(origin=origin, action="audit.prune", target_name="audit log", details=details)
    return Pruned(deleted=deleted, cutoff=cutoff)


# The companies an event belongs to, as IDs: organisation sets this (OrganisationConfig.ready) to
# ``function(actor, target) -> (actor's company ID, target user's company ID)``, each None when there is none.
_event_companies = None


def set_event_companies(companies_function):
    global _event_companies
    _event_companies = companies_function


# Which events a reader may see. The panel knows nothing of companies; the accounts app sets this
# (AccountsConfig.ready) so that a company admin reads only the events of their own scope.
_event_scope = None
_scope_parts = None


def set_event_scope(scope_function, parts_function=None):
    """``scope_function(reader, events)`` narrows a queryset of AuditEvent to what ``reader`` may see;
    ``parts_function(reader)``, when given, says the same as a list of Q objects (None: no narrowing),
    each of which an index answers in time order: core.audit_pages reads a page of each and merges them."""
    global _event_scope, _scope_parts
    _event_scope, _scope_parts = scope_function, parts_function


def events_visible_to(reader):
    events = AuditEvent.objects.all()
    return _event_scope(reader, events) if _event_scope is not None else events


def scope_parts(reader):
    """The reader's scope as indexed parts (see set_event_scope), or None: the whole log, or no parts known."""
    return _scope_parts(reader) if _scope_parts is not None else None
