"""Audit and session bookkeeping for Django's login signals, and the cached user total.

Every way of logging in (password now, passkeys later) goes through
``django.contrib.auth.login``, so hooking its signals covers them all. Every
way of adding or removing a user through the ORM (services, createsuperuser,
factories) sends post_save/post_delete, so the cached total follows them all.
"""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from accounts import login_guard, selectors, services, session_policy
from accounts.models import User
from panel.audit import Origin, record
from panel.client_ip import get_client_ip
from panel.models import AuditEvent


@receiver(user_logged_in)
def _on_login(sender, request, user, **kwargs):
    login_guard.record_success(username=user.get_username())
    session_policy.start(request.session, user)
    services.session_start(origin=Origin.from_request(request), user=user, session_key=request.session.session_key)


@receiver(user_login_failed)
def _on_login_failed(sender, credentials, request=None, **kwargs):
    if request is None:
        return
    origin = Origin.from_request(request)
    username = credentials.get("username")
    # Only the name that was typed: whether such a user exists is not recorded
    # here, so the log reads the same for real and made-up names.
    record(origin=origin, action="auth.login", target_name=str(username or "")[:64], outcome=AuditEvent.Outcome.FAILURE)
    login_guard.record_failure(origin=origin, username=username, ip=get_client_ip(request))


@receiver(user_logged_out)
def _on_logout(sender, request, user, **kwargs):
    if user is not None:
        services.session_end(origin=Origin.from_request(request), user=user, session_key=request.session.session_key)


@receiver(post_save, sender=User)
def _on_user_saved(sender, created, **kwargs):
    if created:
        transaction.on_commit(selectors.forget_user_total)


@receiver(post_delete, sender=User)
def _on_user_deleted(sender, **kwargs):
    transaction.on_commit(selectors.forget_user_total)
