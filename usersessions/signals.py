"""Every way of logging in goes through ``django.contrib.auth.login`` (password, second step, passkey),
so its signals are where a session starts its policy's clocks and is remembered, and where a logout is."""

from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.dispatch import receiver

from core import device_cookies, notify
from core.audit import Origin
from usersessions import devices, policy, services

notify.set_device_describer(devices.describe)  # notifications name the device as the session list does


@receiver(user_logged_in)
def _on_login(sender, request, user, **kwargs):
    policy.start(request.session, user)
    # The device cookie this login earns is written on the response (core.device_cookies), so the
    # request still carries what the browser had: no valid cookie for this account means a new browser.
    new_browser = device_cookies.device_for(request, user.get_username()) is None
    origin = Origin.from_request(request)
    services.session_start(origin=origin, user=user, session_key=request.session.session_key, new_browser=new_browser)


@receiver(user_logged_out)
def _on_logout(sender, request, user, **kwargs):
    if user is not None:
        services.session_end(origin=Origin.from_request(request), user=user, session_key=request.session.session_key)
