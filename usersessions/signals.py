"""Every way of logging in goes through ``django.contrib.auth.login`` (password, second step, passkey),
so its signals are where a session starts its policy's clocks and is remembered, and where a logout is."""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from core.audit import Origin
from usersessions import policy, services


@receiver(user_logged_in)
def _on_login(sender, request, user, **kwargs):
    policy.start(request.session, user)
    services.session_start(origin=Origin.from_request(request), user=user, session_key=request.session.session_key)


@receiver(user_logged_out)
def _on_logout(sender, request, user, **kwargs):
    if user is not None:
        services.session_end(origin=Origin.from_request(request), user=user, session_key=request.session.session_key)
