"""Two-factor authentication through a real browser: the app switch in the user list, logging in with a code
or a recovery code, turning it off, and email codes delivered by a real SMTP server.

Codes come from pyotp, reading the secret from the otpauth:// URL the dialog shows, as
an app that cannot scan would. The live server runs on real time, so a code used at
login is the next step's (Panel accepts one step early and refuses a step it has seen).
"""

import datetime
import re
import socket
import time
from email import message_from_bytes, policy
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
import time_machine
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from mfa import services as mfa_services
from tests.e2e.conftest import log_in
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import EMAILED_CODE, SETUP, log_out, turn_on_app

pytestmark = pytest.mark.browser

STEP = 30
_RECOVERY_CODE = re.compile(r"^[a-z2-9]{4}(-[a-z2-9]{4}){3}$")


class Mailbox:
    """An aiosmtpd handler that keeps every message it receives, parsed."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    @property
    def code_messages(self):
        """The login-code emails (security notifications, such as a new login, arrive here too)."""
        return [message for message in self.messages if message["Subject"] == "Panel login code"]

    def code_in_last(self):
        """The 6-digit code in the newest code email (Django sends it before the page answers: no waiting)."""
        body = self.code_messages[-1].get_content()
        return EMAILED_CODE.search(body).group(1)


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_mailbox(settings):
    """A real SMTP server on localhost; the live server (same process, same settings) sends through it."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "localhost"
    settings.EMAIL_PORT = controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 10
    yield mailbox
    controller.stop()


def _secret_of(otpauth_url):
    assert otpauth_url.startswith("otpauth://totp/")
    return parse_qs(urlsplit(otpauth_url).query)["secret"][0]


def _next_code(secret):
    """The code of the next 30-second step: refused codes are those of a step already used."""
    return pyotp.TOTP(secret).at(time.time() + STEP)


def _two_factor_cell(page, user):
    return page.locator(f'tr#user-{user.pk} td[data-label="Two-Factor Auth"]')


def _log_in_to(page, path, *, username):
    """Log in through the form with ``?next=``: a user who may not see the user list must not land on it."""
    page.goto(f"/login/?next={path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _open_enrol_dialog(page, user):
    # The switch only opens the dialog once htmx (a deferred script) has run; before that it posts a plain form.
    page.wait_for_load_state("load")
    _two_factor_cell(page, user).get_by_role(
        "switch", name=f"Turn on two-factor authentication for {user.username}"
    ).click()
    dialog = page.locator("dialog#mfa-dialog")
    expect(dialog).to_be_visible()
    return dialog


def test_two_factor_from_the_user_list_to_login_with_codes_and_off_again(admin_page, admin_user, screenshot):
    page = admin_page
    expect(_two_factor_cell(page, admin_user).get_by_role("switch")).to_have_text("Off")

    # The switch opens the dialog: QR code, the otpauth:// URL, a field for the first code.
    dialog = _open_enrol_dialog(page, admin_user)
    expect(dialog.get_by_role("heading", name="Turn on two-factor authentication")).to_be_visible()
    expect(dialog.get_by_role("img", name="QR code for the authenticator app").locator("svg")).to_be_visible()
    expect(dialog.locator('button[data-copy="otpauth-url"]')).to_be_visible()
    expect(dialog.get_by_label("6-digit code")).to_be_focused()
    otpauth_url = dialog.locator("#otpauth-url").inner_text()
    secret = _secret_of(otpauth_url)
    assert "issuer=Panel" in otpauth_url
    # The key for typing into an app, in groups of four; Copy gives it without the spaces.
    grouped = dialog.locator("#totp-key-grouped").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{1,4})+", grouped)
    assert grouped.replace(" ", "") == secret
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    dialog.locator('button[data-copy="totp-key"]').click()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    screenshot("two-factor-enrol")

    # Confirm with pyotp's code: two-factor is on, the ten recovery codes are shown once.
    dialog.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    dialog.get_by_role("button", name="Confirm and turn on").click()
    expect(dialog.get_by_role("heading", name="Two-factor authentication is on")).to_be_visible()
    codes = dialog.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == len(set(codes)) == 10
    assert all(_RECOVERY_CODE.match(code) for code in codes)
    expect(dialog.get_by_role("button", name="Copy")).to_be_visible()
    screenshot("two-factor-recovery-codes")

    # Save them as the user would: the Download link gives a text file with every code.
    with page.expect_download() as download_info:
        dialog.get_by_role("link", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == "panel-admin-recovery-codes.txt"
    saved = open(download.path(), encoding="utf-8").read().split()  # noqa: PTH123, SIM115
    assert saved == codes

    dialog.get_by_role("link", name="Done").click()
    expect(page.get_by_role("heading", name="Two-factor authentication", exact=True)).to_be_visible()
    expect(page.get_by_text("10 of 10 left.")).to_be_visible()

    # Log out; the password alone now leads to the verification step.
    log_out(page)
    log_in(page, username="admin")
    expect(page).to_have_url(re.compile(r"/login/verify/$"))
    expect(page.get_by_role("heading", name="Verify it's you")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    screenshot("login-verify")
    expect(page.get_by_label("Authenticator app")).to_be_checked()
    page.get_by_label("Code", exact=True).fill(_next_code(secret))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/users/$"))
    expect(_two_factor_cell(page, admin_user).get_by_role("link", name="On")).to_be_visible()

    # Log out; log in with a saved recovery code instead.
    log_out(page)
    log_in(page, username="admin")
    page.get_by_label("Recovery code").check()
    page.get_by_label("Code", exact=True).fill(saved[0])
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/users/$"))
    expect(page.get_by_role("status")).to_have_text("Recovery code accepted. 9 recovery codes left.")

    # Turn it off from the two-factor page, proving it is me with the password.
    _two_factor_cell(page, admin_user).get_by_role("link", name="On").click()
    expect(page.get_by_text("9 of 10 left.")).to_be_visible()
    page.get_by_role("link", name="Turn off two-factor authentication").click()
    page.get_by_label("Or your password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Turn off").click()
    expect(page.get_by_role("status")).to_have_text("Two-factor authentication is off for admin.")
    page.goto("/users/")
    expect(_two_factor_cell(page, admin_user).get_by_role("switch")).to_have_text("Off")


def test_a_wrong_code_in_the_dialog_says_so_and_keeps_the_dialog_open(admin_page, admin_user):
    dialog = _open_enrol_dialog(admin_page, admin_user)
    secret = _secret_of(dialog.locator("#otpauth-url").inner_text())
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"

    dialog.get_by_label("6-digit code").fill(wrong)
    dialog.get_by_role("button", name="Confirm and turn on").click()

    expect(dialog.get_by_text("That code is not valid. Check it and try again.")).to_be_visible()
    expect(dialog.get_by_label("6-digit code")).to_be_visible()
    expect(_two_factor_cell(admin_page, admin_user).get_by_role("switch")).to_have_text("Off")


def test_the_otpauth_url_and_its_copy_button_fit_in_the_dialog(admin_page, admin_user):
    dialog = _open_enrol_dialog(admin_page, admin_user)

    box = dialog.bounding_box()
    for part in (dialog.locator("#otpauth-url"), dialog.locator('button[data-copy="otpauth-url"]')):
        inner = part.bounding_box()
        assert box["x"] <= inner["x"] and inner["x"] + inner["width"] <= box["x"] + box["width"], part


def test_admin_enrols_another_user_from_the_list(admin_page):
    dana = UserFactory(username="dana-okafor", email="dana.okafor@example.com")
    admin_page.reload()

    dialog = _open_enrol_dialog(admin_page, dana)
    expect(dialog.get_by_role("heading", name="Turn on two-factor authentication for dana-okafor")).to_be_visible()
    secret = _secret_of(dialog.locator("#otpauth-url").inner_text())
    assert unquote(urlsplit(dialog.locator("#otpauth-url").inner_text()).path) == "/Panel:dana-okafor"
    dialog.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    dialog.get_by_role("button", name="Confirm and turn on").click()
    expect(dialog.locator("#recovery-codes li")).to_have_count(10)
    dialog.get_by_role("link", name="Done").click()

    expect(admin_page.get_by_role("heading", name="Two-factor authentication of dana-okafor")).to_be_visible()


def test_set_up_an_app_from_the_two_factor_page(admin_page, admin_user):
    page = admin_page
    page.goto(f"/users/{admin_user.pk}/two-factor/")
    page.get_by_role("button", name="Set up an authenticator app").click()
    secret = _secret_of(page.locator("#otpauth-url").inner_text())

    page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm and turn on").click()

    expect(page.get_by_role("heading", name="Two-factor authentication is on")).to_be_visible()
    expect(page.locator("#recovery-codes li")).to_have_count(10)


def test_email_codes_through_a_real_smtp_server(page, smtp_mailbox, screenshot):
    carol = UserFactory(username="carol", email="carol@example.com")
    _log_in_to(page, "/account/", username="carol")
    page.get_by_role("link", name="Two-factor authentication").click()
    expect(page.get_by_text("Weaker than an app or a passkey")).to_be_visible()

    # Turning email codes on sends a code to the address; entering it proves the address works.
    page.get_by_role("button", name="Turn on email codes").click()
    expect(page.get_by_role("heading", name="Turn on email codes")).to_be_visible()
    assert len(smtp_mailbox.code_messages) == 1
    message = smtp_mailbox.code_messages[0]
    assert message["To"] == "carol@example.com"
    page.get_by_label("6-digit code").fill(smtp_mailbox.code_in_last())
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.get_by_role("status")).to_have_text("Logins now need a code sent to your email address.")
    expect(page.get_by_role("heading", name="Email codes On")).to_be_visible()
    log_out(page)

    # A minute later (one email per minute), the password leads to "Email me a code".
    with time_machine.travel(datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=61), tick=True):
        _log_in_to(page, "/account/", username="carol")
        expect(page).to_have_url(re.compile(r"/login/verify/$"))
        page.get_by_role("button", name="Email me a code").click()
        expect(page.get_by_role("status")).to_contain_text("A code was sent to your email address.")
        assert len(smtp_mailbox.code_messages) == 2
        expect(page.get_by_label("Code sent by email")).to_be_checked()
        page.get_by_label("Code", exact=True).fill(smtp_mailbox.code_in_last())
        screenshot("login-verify-email")
        page.get_by_role("button", name="Verify").click()

        expect(page.get_by_role("heading", name="My account")).to_be_visible()
        expect(page.get_by_role("banner").get_by_role("link", name=carol.username, exact=True)).to_be_visible()


def test_right_after_turning_on_email_codes_email_me_a_code_logs_in_without_changing_the_choice(page, smtp_mailbox):
    carol = UserFactory(username="carol", email="carol@example.com")
    totp, _codes = turn_on_app(carol)
    _log_in_to(page, "/account/", username="carol")
    page.get_by_label("Code", exact=True).fill(_next_code(totp.secret))
    page.get_by_role("button", name="Verify").click()
    page.goto(f"/users/{carol.pk}/two-factor/")
    page.get_by_role("button", name="Turn on email codes").click()
    page.get_by_label("6-digit code").fill(smtp_mailbox.code_in_last())
    page.get_by_role("button", name="Confirm and turn on").click()
    expect(page.get_by_role("heading", name="Email codes On")).to_be_visible()
    log_out(page)

    # At once, no minute's wait: the enrolment's email does not count against the login codes.
    _log_in_to(page, "/account/", username="carol")
    expect(page.get_by_label("Authenticator app")).to_be_checked()
    page.get_by_role("button", name="Email me a code").click()

    expect(page.get_by_role("status")).to_have_text("A code was sent to your email address. It is valid for 5 minutes.")
    expect(page.get_by_label("Code sent by email")).to_be_checked()
    page.get_by_label("Code", exact=True).fill(smtp_mailbox.code_in_last())
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()


def test_logging_in_with_one_of_the_last_recovery_codes_warns_and_links_to_new_ones(page):
    carol = UserFactory(username="carol", email="carol@example.com")
    _totp, codes = turn_on_app(carol)
    for code in codes[:8]:  # used on earlier logins
        mfa_services.verify_login_code(origin=SETUP, user=carol, method="recovery", code=code)
    _log_in_to(page, "/account/", username="carol")
    page.get_by_label("Recovery code").check()
    page.get_by_label("Code", exact=True).fill(codes[8])
    page.get_by_role("button", name="Verify").click()

    expect(page.get_by_role("status")).to_have_text(
        "Recovery code accepted. Only 1 recovery code left: make new recovery codes before they run out."
    )
    page.get_by_role("status").get_by_role("link", name="make new recovery codes").click()
    page.get_by_role("button", name="Make new recovery codes").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)

    # The new codes were shown after a redirect: reloading makes no other set and shows them no more.
    page.reload()
    expect(page.locator("#recovery-codes li")).to_have_count(0)
    expect(page.get_by_text("10 of 10 left.")).to_be_visible()
