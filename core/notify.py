"""Security notifications: the owner of an account is emailed when its credentials change.

``notify`` is the one way to send them. Services call it inside their transaction; the email goes
out only once that transaction commits (nothing is said about a change that rolled back), after the
answer (core.mail), and a mail fault is logged, never raised: a change never fails because mail is down.

A notification says what changed, when, from which address and device and, when someone
else acted, who; it never carries a secret (no token secret, no code, no password): callers pass
none in ``context``.

It is written in its recipient's language (theirs, else PANEL_LANGUAGE: never the language of whoever
acted) and shows times in their time zone (core.localisation.as_recipient). So a caller passes texts
that are translated late: ``gettext_lazy`` strings (``lazy()`` for one with placeholders, as
tokens.services does), or a subject marked with ``gettext_noop``. A text translated at once (``gettext``)
would be in the actor's language.
"""

from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext

from core import mail
from core.localisation import as_recipient
from core.templatetags.moments import format_moment

# How a User-Agent header reads as a device ("Firefox on Linux"). core imports no app, so the
# usersessions app hands its describer in (usersessions.signals); until then the header is shown.
_describe_device = None


def set_device_describer(describe):
    """``describe(user_agent) -> str`` names the device in notifications."""
    global _describe_device
    _describe_device = describe


def notify(user, *, subject, template, context, to=None, origin=None):
    """Email ``user`` (or the address ``to``) the plain-text ``template`` once the current transaction commits.

    ``origin`` (core.audit.Origin) says from where the change came; the template also gets ``user``, ``when``
    (now, in the recipient's zone), ``ip``, ``device``, ``by`` (who acted, when not the user) and ``panel_name``.
    Nothing is sent when there is no address.
    """
    address = user.email if to is None else to
    if not address:
        return
    with as_recipient(user):
        body = render_to_string(template, {**_about(user, origin), **context})
        # A plain English subject (marked with gettext_noop) is translated here, for the recipient.
        subject = f"[{settings.PANEL_NAME}] {gettext(str(subject))}"
    mail.send_after_commit(
        partial(send_mail, subject, body, settings.DEFAULT_FROM_EMAIL, [address]),
        about=f"the notification {subject!r} to the user {user.pk}",
    )


def _about(user, origin):
    user_agent = origin.user_agent if origin is not None else ""
    actor = origin.actor if origin is not None else None
    if actor is not None and actor.pk != user.pk:
        by = actor.get_username()
    elif origin is not None and origin.via == "command":
        by = gettext("the server's operator (manage.py)")
    else:
        by = ""
    return {
        "user": user,
        "when": format_moment(timezone.now()),
        # Translators: where a change came from, when its IP address is not known.
        "ip": (origin.ip if origin is not None else None) or gettext("unknown"),
        "device": (_describe_device(user_agent) if _describe_device else user_agent) or gettext("Unknown device"),
        "by": by,
        "panel_name": settings.PANEL_NAME,
    }
