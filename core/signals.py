"""Every login goes through Django's signals: a success clears the account's failure count; a failure
is audited with only the name typed, so real and made-up names read alike (the guard counts it)."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from core import reauth, throttle
from core.audit import Origin, record
from core.models import AuditEvent


@receiver(user_logged_in)
def _on_login(sender, request, user, **kwargs):
    throttle.record_success(username=user.get_username())
    reauth.mark_proof(request.session)  # logging in is the freshest proof there is


@receiver(user_login_failed)
def _on_login_failed(sender, credentials, request=None, **kwargs):
    if request is None:
        return
    username = credentials.get("username")
    record(
        origin=Origin.from_request(request),
        action="auth.login",
        target_name=str(username or "")[:64],
        outcome=AuditEvent.Outcome.FAILURE,
    )
