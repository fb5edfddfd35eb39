"""An ended session never renders inside a fragment: htmx requests are sent to the login page as a whole page.

htmx follows a redirect inside its request and swaps whatever comes back into the cell or dialog it
targets; the ``HX-Redirect`` header instead makes it load that address as the whole page. ``next``
goes back to the page the browser was showing (``HX-Current-URL``), not to the fragment it asked for.
"""

import datetime
from urllib.parse import quote

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from accounts import services as account_services
from core.audit import Origin
from tests.factories import UserFactory
from tests.integration.conftest import logged_in_client
from usersessions import services as session_services
from usersessions.policy import SIGNED_IN_ELSEWHERE

pytestmark = pytest.mark.django_db

USER_LIST = "http://testserver/users/?q=al"


def _htmx(client, method, url, *, current=USER_LIST, **data):
    headers = {"HX-Request": "true", "HX-Current-URL": current}
    return getattr(client, method)(url, data, headers=headers)


def _is_whole_page_login(response, *, next_path="/users/?q=al"):
    """htmx is told to load the login page as the whole page (nothing to swap into the fragment)."""
    assert response.status_code == 200, response
    assert response.content == b""
    assert response["HX-Redirect"] == f"/login/?next={quote(next_path, safe='/')}"
    return True


@pytest.fixture
def admin_browser(admin_user):
    return logged_in_client(admin_user)


def _reason_on_the_login_page(client, response):
    return client.get(response["HX-Redirect"]).content.decode()


def test_inline_edit_after_the_session_was_ended_elsewhere_loads_the_login_page_saying_why(admin_user, admin_browser):
    session_services.end_sessions(user=admin_user, reason=SIGNED_IN_ELSEWHERE)

    response = _htmx(admin_browser, "get", f"/users/{admin_user.pk}/email/edit/")

    assert _is_whole_page_login(response)
    assert SIGNED_IN_ELSEWHERE in _reason_on_the_login_page(admin_browser, response)


def test_inline_edit_after_the_idle_timeout_loads_the_login_page_saying_why(admin_user, admin_browser):
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=settings.PANEL_SESSION_IDLE_TIMEOUT + 60)):
        response = _htmx(admin_browser, "post", f"/users/{admin_user.pk}/email/edit/", value="new@example.com")

        assert _is_whole_page_login(response)
        assert "Your session timed out" in _reason_on_the_login_page(admin_browser, response)
    admin_user.refresh_from_db()
    assert admin_user.email != "new@example.com"


def test_the_two_factor_switch_of_an_expired_account_loads_the_login_page_saying_why():
    alice = UserFactory()
    browser = logged_in_client(alice)
    alice.expires_at = timezone.now() - datetime.timedelta(minutes=1)
    alice.save(update_fields=["expires_at"])

    response = _htmx(browser, "post", f"/users/{alice.pk}/two-factor/app/enable/")

    assert _is_whole_page_login(response)
    assert "This account expired on" in _reason_on_the_login_page(browser, response)


def test_the_switch_of_a_disabled_account_loads_the_login_page_saying_why(admin_user):
    alice = UserFactory()
    browser = logged_in_client(alice)
    account_services.user_set_enabled(origin=Origin(actor=admin_user), user=alice, enabled=False)

    response = _htmx(browser, "post", f"/users/{alice.pk}/two-factor/app/enable/")

    assert _is_whole_page_login(response)
    assert account_services.DISABLED in _reason_on_the_login_page(browser, response)


def test_after_logging_out_in_another_tab_an_htmx_request_loads_the_login_page(admin_user, admin_browser):
    admin_browser.post("/logout/")

    response = _htmx(admin_browser, "get", f"/users/{admin_user.pk}/email/")

    assert _is_whole_page_login(response)


@pytest.mark.parametrize(
    "current",
    ["https://evil.example/users/", "//evil.example/users/", "javascript:alert(1)", "", "not a url at all"],
)
def test_next_never_leaves_the_panel(admin_user, admin_browser, current):
    admin_browser.post("/logout/")

    response = _htmx(admin_browser, "get", f"/users/{admin_user.pk}/email/", current=current)

    assert _is_whole_page_login(response, next_path="/")


def test_a_plain_request_still_gets_an_ordinary_redirect_back_to_itself(admin_user, admin_browser):
    admin_browser.post("/logout/")

    response = admin_browser.get("/users/?q=al")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/users/%3Fq%3Dal"
    assert "HX-Redirect" not in response


def test_a_user_required_to_set_up_two_factor_gets_the_enrolment_page_as_a_whole_page(settings):
    settings.PANEL_REQUIRE_TWO_FACTOR = True
    user = UserFactory()
    browser = logged_in_client(user)

    response = _htmx(browser, "get", f"/users/{user.pk}/email/")

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"/users/{user.pk}/two-factor/"
