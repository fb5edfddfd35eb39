"""README's "Rotating SECRET_KEY", step by step: with the old key in PANEL_SECRET_KEY_FALLBACKS nobody is logged
out and nothing signed or encrypted with it breaks; once it is dropped, only what was not used meanwhile ends."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory

from core import device_cookies
from tests.factories import UserFactory
from tests.integration.api_script import Script
from tests.integration.conftest import opens_account_page, post_login, session_key_of, user_session_keys

pytestmark = pytest.mark.django_db

OLD_KEY = "the-old-secret-key-that-was-in-production-0123456789-abcdefghijklmnop"
NEW_KEY = "the-new-secret-key-made-for-the-rotation-0123456789-qrstuvwxyzABCDEFG"


@pytest.fixture
def running_on_the_old_key(settings):
    """The panel before the rotation: SECRET_KEY is the old key, no fallbacks, no PANEL_ENCRYPTION_KEYS."""
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS, settings.PANEL_ENCRYPTION_KEYS = OLD_KEY, [], []
    return settings


def _restart_with(settings, *, secret_key, fallbacks):
    """``export SECRET_KEY=… PANEL_SECRET_KEY_FALLBACKS=…`` and restart: the settings the process reads."""
    settings.SECRET_KEY, settings.SECRET_KEY_FALLBACKS = secret_key, fallbacks


def _logged_in_browser(user):
    client = Client()
    assert post_login(client, user.username).status_code == 302
    return client


def _reset_link(mailoutbox, user):
    Client().post("/password-reset/", {"email": user.email})
    [link] = re.findall(r"http://testserver(/password-reset/\S+/)", mailoutbox[-1].body)
    return link


def test_rotating_secret_key_as_the_readme_says(running_on_the_old_key, mailoutbox):
    settings = running_on_the_old_key
    alice = UserFactory(username="alice", email="alice@example.com")
    active, idle = _logged_in_browser(alice), _logged_in_browser(alice)
    device_cookie = active.cookies[device_cookies.COOKIE_NAME].value
    script = Script.of(alice)  # a token secret encrypted under the key derived from the old SECRET_KEY
    link = _reset_link(mailoutbox, alice)

    # Step 1 and 2: a new key, the old one in the fallbacks, restart.
    _restart_with(settings, secret_key=NEW_KEY, fallbacks=[OLD_KEY])

    old_session_key = session_key_of(active)
    assert opens_account_page(active)  # still logged in: Django moved the session to the new key
    assert session_key_of(active) != old_session_key
    assert session_key_of(active) in user_session_keys(alice)  # still listed, so it can still be ended
    assert script.whoami().status_code == 200
    assert device_cookies.device_for(_request_with_cookie(device_cookie), "alice") is not None
    assert Client().get(link).status_code == 302  # the reset link mailed before the rotation opens its form

    # Step 3: secrets encrypted under the key derived from the old SECRET_KEY move (no PANEL_ENCRYPTION_KEYS here).
    call_command("reencrypt_secrets", stdout=StringIO())

    # Step 4: drop the old key, restart.
    _restart_with(settings, secret_key=NEW_KEY, fallbacks=[])

    assert opens_account_page(active)  # used while the old key was a fallback: on the new key now
    assert not opens_account_page(idle)  # not used since the rotation: it ends
    assert script.whoami().status_code == 200  # moved by reencrypt_secrets
    assert device_cookies.device_for(_request_with_cookie(device_cookie), "alice") is None


def test_rotating_without_the_fallback_logs_everyone_out(running_on_the_old_key):
    browser = _logged_in_browser(UserFactory(username="alice"))
    _restart_with(running_on_the_old_key, secret_key=NEW_KEY, fallbacks=[])
    assert not opens_account_page(browser)


def test_a_secret_stays_readable_through_the_rotation_until_reencrypted(running_on_the_old_key):
    script = Script.of(UserFactory(username="alice"))
    _restart_with(running_on_the_old_key, secret_key=NEW_KEY, fallbacks=[])
    assert script.whoami().status_code == 401  # what step 3 and the fallback prevent


def _request_with_cookie(value):
    request = RequestFactory().get("/login/")
    request.COOKIES[device_cookies.COOKIE_NAME] = value
    return request
