"""Every change to access tokens. Each takes an ``origin``, runs in one transaction and writes one audit event."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import crypto
from core.audit import record
from core.models import AuditEvent
from core.notify import notify
from core.templatetags.moments import format_moment
from tokens import credentials, selectors
from tokens.models import AccessToken
from tokens.validators import clean_ip_allowlist, latest_expiry, validate_token_expiry

# Last-used bookkeeping is written at most this often per token, so that an
# authenticated request normally costs one read and no write.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# When an owner is reminded that a token expires: days before, the earliest first.
EXPIRY_REMINDER_DAYS = (7, 1)
# token_update's "leave the permissions as they are" (None there means: all of the owner's).
UNCHANGED = object()


def _clean_permissions(names, *, owner):
    """``names`` sorted, once each, if each is a function permission ``owner`` holds; None (all of theirs) stays."""
    if names is None:
        return None
    if len(set(names)) != len(names):
        raise ValidationError(_("Name each permission once."))
    names = set(names)
    unknown = sorted(name for name in names if not selectors.is_token_permission(name))
    if unknown:
        shown = ", ".join(name[:80] for name in unknown[:3]) + (", …" if len(unknown) > 3 else "")
        raise ValidationError(_("Not a function permission a token can be limited to: %(names)s.") % {"names": shown})
    beyond = sorted(names - selectors.token_permission_names(owner=owner))
    if beyond:
        raise ValidationError(
            _("%(username)s does not hold %(names)s: a token never does more than its owner.")
            % {"username": owner.get_username(), "names": ", ".join(beyond)}
        )
    return sorted(names)


def _checked_fields(
    *, name=None, ip_allowlist=None, expires_at=None, long_term=False, permissions=UNCHANGED, owner, now
):
    """Validate what is given; returns the cleaned values or raises one ValidationError naming each field."""
    cleaned, errors = {}, {}
    if permissions is not UNCHANGED:
        try:
            cleaned["permissions"] = _clean_permissions(permissions, owner=owner)
        except ValidationError as error:
            errors["permissions"] = error.messages
    if name is not None:
        name = name.strip()
        try:
            AccessToken._meta.get_field("name").run_validators(name)
            cleaned["name"] = name
        except ValidationError as error:
            errors["name"] = error.messages
    if ip_allowlist is not None:
        try:
            cleaned["ip_allowlist"] = clean_ip_allowlist(ip_allowlist)
        except ValidationError as error:
            errors["ip_allowlist"] = error.messages
    if long_term:
        cleaned["expires_at"] = latest_expiry(now)
    elif expires_at is not None:
        try:
            validate_token_expiry(expires_at, now=now)
            cleaned["expires_at"] = expires_at
        except ValidationError as error:
            errors["expires_at"] = error.messages
    if errors:
        raise ValidationError(errors)
    return cleaned


def token_create(*, origin, user, expires_at=None, long_term=False, name="", ip_allowlist=(), permissions=None):
    """Issue a token for ``user``; returns ``(token, secret)``. The secret is never readable again in plain text.

    ``permissions``: None for all of ``user``'s (whatever they are at each request), or the names of
    function permissions ``user`` holds that it is limited to.

    ``long_term`` picks the longest lifetime allowed (ten years) instead of ``expires_at``. Who may issue
    one for whom is the caller's check (tokens.selectors.token_creation_owner); when the actor is not
    ``user``, the event says so (``for_owner``). ``user`` is emailed either way, never with the secret.
    """
    now = timezone.now()
    if expires_at is None and not long_term:
        raise ValidationError({"expires_at": _("Choose when the token expires.")})
    fields = _checked_fields(
        name=name or "",
        ip_allowlist=list(ip_allowlist),
        expires_at=expires_at,
        long_term=long_term,
        permissions=permissions,
        owner=user,
        now=now,
    )
    secret = credentials.new_secret()
    creator = origin.actor
    for_someone_else = creator is not None and creator.pk != user.pk
    with transaction.atomic():
        token = AccessToken.objects.create(user=user, secret=secret, created_at=now, **fields)
        details = {**_describe(token), **({"for_owner": user.get_username()} if for_someone_else else {})}
        record(origin=origin, action="token.create", target=token, details=details)
        _notify(origin, token, "created")
    return token, secret


# The subjects of the emails about a token, by the change (also the template's ``change``); lazy, so that
# they are translated when the email is written, in its recipient's language.
_CHANGE_SUBJECTS = {
    "created": gettext_lazy("An access token was created"),
    "changed": gettext_lazy("An access token was changed"),
    "deleted": gettext_lazy("An access token was deleted"),
}


def _expiry_subject(expires_at):
    return _("An access token expires on %(moment)s") % {"moment": format_moment(expires_at)}


def _time_left(expires_at):
    return timeuntil(expires_at).replace("\xa0", " ")


# Formatted when the email is written, in its recipient's language and time zone.
_expiry_subject_lazy = lazy(_expiry_subject, str)
_time_left_lazy = lazy(_time_left, str)


def _notify(origin, token, change):
    """Tell the token's owner (core.notify: after the commit; the template shows no secret)."""
    context = {"token": token, "change": change}
    subject = _CHANGE_SUBJECTS[change]
    notify(token.user, subject=subject, template="core/notifications/token.txt", context=context, origin=origin)


def token_update(
    *, origin, token, ip_allowlist=None, expires_at=None, long_term=False, name=None, permissions=UNCHANGED
):
    """Change a token's name, IP allow-list, expiry or permissions (None: all of its owner's); the secret stays.

    Changing the permissions needs re-authentication, which is the caller's check (pages: sudo mode;
    API: a browser session with a recent proof, since a token must not widen itself).
    """
    fields = _checked_fields(
        name=name,
        ip_allowlist=ip_allowlist,
        expires_at=expires_at,
        long_term=long_term,
        permissions=permissions,
        owner=token.user,
        now=timezone.now(),
    )
    changes = {
        field: {"from": _jsonable(getattr(token, field)), "to": _jsonable(value)}
        for field, value in fields.items()
        if getattr(token, field) != value
    }
    if not changes:
        return token
    with transaction.atomic():
        for field, value in fields.items():
            setattr(token, field, value)
        saved = list(fields)
        if "expires_at" in changes:
            token.expiry_reminder_days = None  # the new expiry gets its own reminders
            saved.append("expiry_reminder_days")
        token.save(update_fields=saved)
        record(origin=origin, action="token.update", target=token, details={"changes": changes})
        _notify(origin, token, "changed")
    return token


def token_delete(*, origin, token):
    with transaction.atomic():
        record(origin=origin, action="token.delete", target=token, details=_describe(token))
        _notify(origin, token, "deleted")
        token.delete()


def token_expiry_reminders_send(*, origin):
    """Email each token's owner that the token expires soon, a week and a day before; returns how many went.

    Each reminder goes once per expiry, and only the one due: a token first seen a day before its expiry
    gets the one-day reminder, not the week's too; one made within a week of its expiry skips the week's
    (its owner chose the short life). Two runs at once send each reminder once (``_remind`` claims it).
    An inactive owner is not emailed. One event per reminder sent.
    """
    now = timezone.now()
    soon = AccessToken.objects.filter(
        expires_at__gt=now, expires_at__lte=now + timedelta(days=max(EXPIRY_REMINDER_DAYS)), user__is_active=True
    ).exclude(expiry_reminder_days=min(EXPIRY_REMINDER_DAYS))
    sent = 0
    for token in soon.select_related("user").order_by("expires_at", "pk"):
        days = _reminder_due(token, now)
        if days is not None and _remind(origin, token, days):
            sent += 1
    return sent


def _reminder_due(token, now):
    """The reminder due for ``token`` at ``now`` (its days before the expiry), or None."""
    days = min(d for d in EXPIRY_REMINDER_DAYS if token.expires_at - now <= timedelta(days=d))
    already_sent = token.expiry_reminder_days is not None and token.expiry_reminder_days <= days
    made_since = token.created_at > token.expires_at - timedelta(days=days)
    return None if already_sent or made_since else days


def _remind(origin, token, days):
    """Send ``token``'s reminder unless another run did, or the token changed, since it was read.

    The conditional UPDATE is the claim: of two runs, only one matches the row as it read it.
    """
    with transaction.atomic():
        claimed = AccessToken.objects.filter(
            pk=token.pk, expires_at=token.expires_at, expiry_reminder_days=token.expiry_reminder_days
        ).update(expiry_reminder_days=days)
        if not claimed:
            return False
        token.expiry_reminder_days = days
        details = {"owner": token.user.get_username(), "days_before": days, "expires_at": token.expires_at.isoformat()}
        record(origin=origin, action="token.expiry_reminder", target=token, details=details)
        notify(
            token.user,
            subject=_expiry_subject_lazy(token.expires_at),
            template="core/notifications/token_expiry.txt",
            # As "6 days, 23 hours", with plain spaces: it is a plain-text email.
            context={"token": token, "left": _time_left_lazy(token.expires_at)},
            origin=origin,
        )
    return True


def token_mark_used(*, token, ip, now=None):
    """Note that ``token`` was just used from ``ip``, at most once a minute per token and address."""
    now = now or timezone.now()
    recent = token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION
    if recent and token.last_used_ip == ip:
        return
    AccessToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=ip)
    token.last_used_at, token.last_used_ip = now, ip


def token_refused(*, origin, reason, token=None, credential=None):
    """Audit a refused API request. Never given the secret or the signature."""
    record(
        origin=origin,
        action="token.refused",
        target=token,
        target_name="" if token is not None else f"token {credential or '?'}",
        outcome=AuditEvent.Outcome.FAILURE,
        details={"reason": reason},
    )


def reencrypt_secrets():
    """Re-encrypt every token secret under the newest key, in batches; returns how many.

    ``manage.py reencrypt_secrets`` does this for every encrypted field, tokens' included.
    """
    return crypto.reencrypt_field(field=AccessToken._meta.get_field("encrypted_secret"))


def _jsonable(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def _describe(token):
    return {
        "owner": token.user.get_username(),
        "name": token.name,
        "ip_allowlist": token.ip_allowlist,
        "expires_at": token.expires_at.isoformat(),
        "permissions": token.permissions,
    }
