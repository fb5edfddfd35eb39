"""Re-authentication ("sudo mode"): sensitive changes need a login proof younger than PANEL_REAUTH_SECONDS.

Finding 3 of the security review: with only a stolen session cookie, an attacker created a token and
registered a passkey that outlived the victim's password change. Now a stale session is asked for
the password (and the second factor) first; the input it submitted is kept and the action goes on.
"""

import datetime

import pytest
import time_machine
from django.conf import settings

from core import throttle
from core.models import AuditEvent
from tests.factories import DEFAULT_PASSWORD, AccessTokenFactory, UserFactory
from tests.helpers import enable_totp
from tests.integration.api_script import grant_api_module
from tests.integration.conftest import events, grant, logged_in_client, page_text
from tokens.models import AccessToken

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)
IN_A_MONTH = "2026-07-01T09:00"


@pytest.fixture
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def stale(clock):
    """Moves the clock past the re-authentication window (and not past the idle timeout)."""

    def go_stale():
        clock.shift(settings.PANEL_REAUTH_SECONDS + 1)

    return go_stale


@pytest.fixture
def owner(db):
    user = UserFactory(username="olga", email="olga@example.com")
    grant_api_module(user)
    return user


def _create_token(browser, owner, **extra):
    # Followed: a created token's secret is shown on the list the POST redirects to.
    return browser.post(
        f"/users/{owner.pk}/tokens/new/", {"name": "deploy", "expires_at": IN_A_MONTH, **extra}, follow=True
    )


def test_a_fresh_login_creates_a_token_without_asking_again(owner, clock):
    browser = logged_in_client(owner)

    response = _create_token(browser, owner)

    assert response.status_code == 200
    assert AccessToken.objects.filter(user=owner, name="deploy").exists()


def test_a_stale_session_is_asked_for_its_password_and_nothing_is_created(owner, stale):
    browser = logged_in_client(owner)
    stale()

    response = _create_token(browser, owner)

    assert response.status_code == 200
    assert "Confirm it's you" in page_text(response)
    assert 'name="name" value="deploy"' in response.content.decode()  # the input is kept
    assert not AccessToken.objects.exists()


def test_the_right_password_goes_on_with_the_kept_input(owner, stale):
    browser = logged_in_client(owner)
    stale()

    response = _create_token(browser, owner, _reauth="1", _reauth_password=DEFAULT_PASSWORD)

    assert response.status_code == 200
    assert AccessToken.objects.get(user=owner).name == "deploy"
    (proof,) = events("auth.reauth")
    assert (proof.outcome, proof.target_id) == (AuditEvent.Outcome.SUCCESS, str(owner.pk))


def test_after_confirming_the_next_change_is_not_asked_again(owner, stale):
    browser = logged_in_client(owner)
    stale()
    _create_token(browser, owner, _reauth="1", _reauth_password=DEFAULT_PASSWORD)

    response = browser.post(f"/users/{owner.pk}/tokens/new/", {"name": "second", "expires_at": IN_A_MONTH})

    assert response.status_code == 302
    assert AccessToken.objects.filter(name="second").exists()


def test_a_wrong_password_is_refused_audited_and_creates_nothing(owner, stale):
    browser = logged_in_client(owner)
    stale()

    response = _create_token(browser, owner, _reauth="1", _reauth_password="Wrong-guess-1")

    assert response.status_code == 400
    assert "That password is not correct." in page_text(response)
    assert not AccessToken.objects.exists()
    (refusal,) = events("auth.reauth")
    assert (refusal.outcome, refusal.details["reason"]) == (AuditEvent.Outcome.FAILURE, "wrong password")


def test_with_a_second_factor_the_code_is_asked_too(owner, stale, clock):
    totp = enable_totp(owner)
    browser = logged_in_client(owner)
    stale()

    without_code = _create_token(browser, owner, _reauth="1", _reauth_password=DEFAULT_PASSWORD)
    clock.shift(30)  # past django-otp's own delay after a wrong code, into the next time step
    with_code = _create_token(browser, owner, _reauth="1", _reauth_password=DEFAULT_PASSWORD, _reauth_code=totp.now())

    assert without_code.status_code == 400
    assert "That code is not correct." in page_text(without_code)
    assert with_code.status_code == 200
    assert AccessToken.objects.filter(user=owner).count() == 1


def test_password_guesses_at_the_prompt_go_through_the_login_guard(owner, stale):
    browser = logged_in_client(owner)
    stale()
    for _ in range(throttle.ACCOUNT_GUARD.lock_after):
        _create_token(browser, owner, _reauth="1", _reauth_password="Wrong-guess-1")

    response = _create_token(browser, owner, _reauth="1", _reauth_password=DEFAULT_PASSWORD)

    assert response.status_code == 400
    assert "Too many failed attempts" in page_text(response)
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/users/{target}/password/", {"password": "Fresh-river-77"}),
        ("/users/{target}/delete/", {}),
        ("/users/{target}/access/", {"permissions": []}),
        ("/users/{target}/email/edit/", {"value": "new@example.com"}),
        ("/users/{me}/two-factor/app/enable/", {}),
        ("/users/{me}/two-factor/email/enable/", {}),
        ("/users/{me}/passkeys/new/", {"name": "Laptop"}),
        ("/users/{me}/tokens/new/", {"name": "ci", "expires_at": IN_A_MONTH}),
    ],
)
def test_every_sensitive_change_asks_a_stale_session_first(admin_user, stale, path, data):
    target = UserFactory(username="tina")
    browser = logged_in_client(admin_user)
    stale()
    before = AuditEvent.objects.exclude(action__startswith="auth.").count()

    response = browser.post(path.format(target=target.pk, me=admin_user.pk), data)

    assert response.status_code == 200
    assert "Confirm it's you" in page_text(response)
    assert AuditEvent.objects.exclude(action__startswith="auth.").count() == before  # nothing changed


def test_changing_a_username_needs_no_fresh_proof(admin_user, stale):
    target = UserFactory(username="tina")
    browser = logged_in_client(admin_user)
    stale()

    response = browser.post(f"/users/{target.pk}/username/edit/", {"value": "tina2"})

    assert response.status_code == 302
    target.refresh_from_db()
    assert target.username == "tina2"


# The API: a browser session without a recent proof gets a 403; an access token carries its own proof.


def _csrf(browser):
    browser.get("/account/")
    return browser.cookies["csrftoken"].value


def test_api_refuses_a_stale_browser_session_with_a_clear_403(admin_user, stale):
    target = UserFactory(username="tina")
    browser = logged_in_client(admin_user)
    token = _csrf(browser)
    stale()

    response = browser.delete(f"/api/users/{target.pk}", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 403
    assert "needs a recent login" in response.json()["detail"]
    assert type(target).objects.filter(pk=target.pk).exists()


def test_api_changing_your_email_from_a_stale_session_is_refused(owner, stale):
    grant(owner, "accounts.change_user")
    browser = logged_in_client(owner)
    token = _csrf(browser)
    stale()

    response = browser.patch(
        f"/api/users/{owner.pk}", {"email": "x@example.com"}, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )

    assert response.status_code == 403
    owner.refresh_from_db()
    assert owner.email == "olga@example.com"


def test_an_access_token_deletes_a_user_without_a_login_proof(admin_user, clock):
    target = UserFactory(username="tina")
    grant_api_module(admin_user)
    token = AccessTokenFactory(user=admin_user)
    clock.shift(settings.PANEL_REAUTH_SECONDS * 10)

    from django.test import Client

    response = Client().delete(f"/api/users/{target.pk}", HTTP_AUTHORIZATION=f"Bearer {token.bearer}")

    assert response.status_code == 204


def test_a_user_with_only_email_codes_is_mailed_one_with_the_prompt(owner, stale, clock):
    from django.core import mail

    from tests.integration.conftest import mailed_code, turn_on_email

    turn_on_email(owner)
    browser = logged_in_client(owner)
    stale()
    mail.outbox.clear()

    prompt = _create_token(browser, owner)
    code = mailed_code(mail.outbox[-1])
    response = _create_token(browser, owner, _reauth="1", _reauth_password=DEFAULT_PASSWORD, _reauth_code=code)

    assert "A code was sent to your email address" in page_text(prompt)
    assert response.status_code == 200
    assert AccessToken.objects.filter(user=owner).count() == 1


# Re-authentication with a passkey (the JSON endpoint passkeys.js calls from the prompt)


def _passkey_answer(browser, authenticator):
    options = browser.post("/login/passkey/options/", HTTP_HOST="localhost").json()
    return authenticator.login(options)


def test_your_own_passkey_gives_a_fresh_proof(owner, stale):
    from tests.integration.conftest import register_passkey

    _passkey, authenticator = register_passkey(owner)
    browser = logged_in_client(owner, HTTP_HOST="localhost")
    stale()

    answer = browser.post(
        "/passkeys/reauth/",
        {"credential": _passkey_answer(browser, authenticator)},
        content_type="application/json",
        HTTP_HOST="localhost",
    )
    response = _create_token(browser, owner)

    assert answer.status_code == 200
    assert response.status_code == 200 and AccessToken.objects.filter(user=owner).exists()
    assert events("auth.reauth")[-1].details["method"] == "passkey"


def test_another_accounts_passkey_gives_no_proof(owner, stale):
    from tests.integration.conftest import register_passkey

    _passkey, someone_elses = register_passkey(UserFactory(username="mallory"))
    browser = logged_in_client(owner, HTTP_HOST="localhost")
    stale()

    answer = browser.post(
        "/passkeys/reauth/",
        {"credential": _passkey_answer(browser, someone_elses)},
        content_type="application/json",
        HTTP_HOST="localhost",
    )

    assert answer.status_code == 403
    assert "another account" in answer.json()["detail"]
    assert "Confirm it's you" in page_text(_create_token(browser, owner))
