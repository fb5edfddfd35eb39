"""Lockouts that do not lock the owner out: device cookies, IPv6 per /64, one identity per name, lifting locks."""

import datetime
import io

import pytest
import time_machine
from django.core import signing
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import User
from core import device_cookies, throttle
from core.audit import Origin
from tests.factories import UserFactory
from tests.helpers import SETUP, turn_on_app
from tests.integration.conftest import audit_details, events, grant, is_logged_in, logged_in_client, post_login

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2025, 3, 1, 9, 0, 5, tzinfo=datetime.UTC)  # 5 s into a TOTP step
WRONG_PASSWORD = "Wrong-pass-99"
LOGIN_FAILED = "Incorrect username or password."
TOO_MANY = "Too many failed attempts"
PAST_ANY_DELAY = 33  # longer than the growing delay before the tenth failure (32 s)
OWNER_IP, ATTACKER_IP = "192.0.2.10", "198.51.100.66"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


def browser(ip=OWNER_IP):
    return Client(REMOTE_ADDR=ip)


def owners_browser(username="alice"):
    """A browser that logged in as ``username`` (so it holds the device cookie) and logged out again."""
    client = browser()
    assert post_login(client, username).status_code == 302
    client.post("/logout/")
    return client


def fail_passwords(client, username, times, clock):
    for _ in range(times):
        assert LOGIN_FAILED in post_login(client, username, WRONG_PASSWORD).content.decode()
        clock.shift(PAST_ANY_DELAY)


def lock_account(username, clock):
    fail_passwords(browser(ATTACKER_IP), username, throttle.ACCOUNT_GUARD.lock_after, clock)


def lock_ip(ip):
    origin = Origin(ip=ip)
    for _ in range(throttle.IP_GUARD.lock_after):
        throttle.record_failure(origin=origin, username=None, ip=ip)


def text(response):
    return response.content.decode()


# device cookies


def test_a_login_gives_the_browser_a_signed_long_lived_http_only_device_cookie(alice):
    client = browser()

    post_login(client, "alice")

    cookie = client.cookies[device_cookies.COOKIE_NAME]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
    assert cookie["max-age"] == 365 * 24 * 60 * 60
    payload = signing.loads(cookie.value, salt=device_cookies.SALT)
    assert payload["a"] == "alice" and len(payload["n"]) >= 20


def test_the_device_cookie_is_secure_with_https(alice, settings):
    settings.PANEL_HTTPS = True
    client = browser()

    post_login(client, "alice", secure=True)  # a form field: the cookie flag comes from PANEL_HTTPS

    assert client.cookies[device_cookies.COOKIE_NAME]["secure"]


def test_a_failed_login_gives_no_device_cookie(alice):
    client = browser()

    post_login(client, "alice", WRONG_PASSWORD)

    assert device_cookies.COOKIE_NAME not in client.cookies


def test_the_password_step_alone_gives_no_device_cookie_the_second_step_does(alice, clock):
    totp, _codes = turn_on_app(alice)
    client = browser()

    post_login(client, "alice")
    assert device_cookies.COOKIE_NAME not in client.cookies

    next_code = totp.at(datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=30))
    response = client.post("/login/verify/", {"action": "verify", "method": "totp", "code": next_code})

    assert response.status_code == 302 and is_logged_in(client, alice)
    assert device_cookies.COOKIE_NAME in client.cookies


def test_the_owners_browser_logs_in_while_the_account_is_locked_for_everyone_else(alice, clock):
    owner = owners_browser()
    lock_account("alice", clock)

    elsewhere = post_login(browser("203.0.113.5"), "alice")
    response = post_login(owner, "alice")

    assert TOO_MANY in text(elsewhere)
    assert response.status_code == 302 and is_logged_in(owner, alice)


def test_the_owner_logs_in_whatever_the_case_typed(alice, clock):
    owner = owners_browser()
    lock_account("alice", clock)

    assert post_login(owner, "ALICE").status_code == 302


def test_a_device_cookie_of_another_account_gives_no_exemption(alice, clock):
    UserFactory(username="bob", email="bob@example.com")
    bobs_browser = owners_browser("bob")
    lock_account("alice", clock)

    response = post_login(bobs_browser, "alice")

    assert TOO_MANY in text(response) and not is_logged_in(bobs_browser, alice)


def test_a_tampered_device_cookie_gives_no_exemption(alice, clock):
    owner = owners_browser()
    value = owner.cookies[device_cookies.COOKIE_NAME].value
    lock_account("alice", clock)
    owner.cookies[device_cookies.COOKIE_NAME] = value[:-2] + ("AA" if value[-2:] != "AA" else "BB")

    response = post_login(owner, "alice")

    assert TOO_MANY in text(response) and not is_logged_in(owner, alice)


@pytest.mark.parametrize(
    "forged",
    [
        signing.dumps({"a": "alice", "n": "made-up-nonce"}, salt="another salt"),
        signing.dumps({"a": "alice", "n": "made-up-nonce"}, salt=device_cookies.SALT, key="not the secret key"),
        '{"a": "alice", "n": "made-up-nonce"}',
    ],
)
def test_a_forged_device_cookie_gives_no_exemption(alice, clock, forged):
    lock_account("alice", clock)
    client = browser()
    client.cookies[device_cookies.COOKIE_NAME] = forged

    assert TOO_MANY in text(post_login(client, "alice"))


def test_a_device_cookie_older_than_a_year_gives_no_exemption(alice, clock):
    owner = owners_browser()
    clock.shift(datetime.timedelta(days=366))
    lock_account("alice", clock)

    assert TOO_MANY in text(post_login(owner, "alice"))


def test_failures_from_the_owners_browser_do_not_count_toward_the_account(alice, clock):
    owner = owners_browser()
    fail_passwords(owner, "alice", throttle.ACCOUNT_GUARD.lock_after - 1, clock)

    assert throttle.wait_seconds(username="alice", ip="203.0.113.5") == 0
    assert post_login(browser("203.0.113.5"), "alice").status_code == 302


def test_the_devices_own_counter_locks_that_device_after_ten_failures(alice, clock):
    owner = owners_browser()
    fail_passwords(owner, "alice", throttle.DEVICE_GUARD.lock_after, clock)

    refused = post_login(owner, "alice")
    elsewhere = post_login(browser("203.0.113.5"), "alice")

    assert throttle.locked_out_message(900 - PAST_ANY_DELAY) in text(refused)
    assert elsewhere.status_code == 302
    (lockout,) = events("auth.lockout")
    assert lockout.target_name == "alice" and audit_details(lockout) == {"seconds": 900, "device": True}


def test_the_locked_device_logs_in_again_after_the_lock(alice, clock):
    owner = owners_browser()
    fail_passwords(owner, "alice", throttle.DEVICE_GUARD.lock_after, clock)

    clock.shift(throttle.DEVICE_GUARD.lock_seconds)

    assert post_login(owner, "alice").status_code == 302


# one identity per account name


@pytest.fixture
def admins(db):
    return UserFactory(username="admin"), UserFactory(username="subadmin")


# ı (dotless i) and ſ (long s) fold to ASCII in PostgreSQL's UPPER and LOWER; full-width letters in NFKC.
LOOKALIKES = ["admın", "ſubadmin", "ＡＤＭＩＮ", "ａｄｍｉｎ", "ADMİN", "subadmın"]


@pytest.mark.parametrize("name", LOOKALIKES)
def test_a_name_with_a_non_ascii_letter_is_refused_with_the_usual_message(admins, name):
    client = browser()

    response = post_login(client, name)

    assert response.status_code == 200 and LOGIN_FAILED in text(response)
    assert not any(is_logged_in(client, user) for user in admins)


@pytest.mark.parametrize("name", LOOKALIKES)
def test_the_natural_key_finds_nobody_for_a_non_ascii_name(admins, name):
    with pytest.raises(User.DoesNotExist):
        User.objects.get_by_natural_key(name)


def test_the_natural_key_ignores_ascii_case(admins):
    assert User.objects.get_by_natural_key("SubAdmin") == admins[1]


def test_non_ascii_names_share_one_counter_and_leave_the_ascii_account_alone(admins, clock):
    fail_passwords(browser(ATTACKER_IP), "admın", throttle.ACCOUNT_GUARD.lock_after, clock)

    assert TOO_MANY in text(post_login(browser("203.0.113.5"), "ſubadmin", WRONG_PASSWORD))
    assert post_login(browser("203.0.113.5"), "admin").status_code == 302
    assert throttle.account_key("admın") == throttle.account_key("ſubadmin") == throttle.NON_ASCII_ACCOUNT


# IPv6 clients count per /64


def test_two_addresses_in_one_ipv6_64_share_a_counter(alice):
    first, same_64 = browser("2001:db8:1:2::10"), browser("2001:db8:1:2:ffff:eeee:dddd:20")
    for number in range(throttle.IP_GUARD.free_failures + 1):
        post_login(first, f"nobody-{number}", WRONG_PASSWORD)

    assert TOO_MANY in text(post_login(same_64, "alice"))


def test_another_ipv6_64_keeps_its_own_counter(alice):
    first = browser("2001:db8:1:2::10")
    for number in range(throttle.IP_GUARD.free_failures + 1):
        post_login(first, f"nobody-{number}", WRONG_PASSWORD)

    assert post_login(browser("2001:db8:1:3::10"), "alice").status_code == 302


# lifting locks: the Locks page


@pytest.fixture
def unlocker(db):
    return grant(UserFactory(username="warden"), "core.unlock_accounts")


def test_the_locks_page_lists_a_locked_account_and_a_locked_address(unlocker, alice, clock):
    lock_account("alice", clock)
    lock_ip("2001:db8:9:9::1")

    page = text(logged_in_client(unlocker).get("/locks/"))

    assert "<code>alice</code>" in page and "<code>2001:db8:9:9::/64</code>" in page
    assert f"<code>{ATTACKER_IP}</code>" not in page  # ten failures give an address no wait


def test_the_locks_page_lifts_an_account_lock_audited(unlocker, alice, clock):
    lock_account("alice", clock)

    response = logged_in_client(unlocker).post("/locks/", {"kind": "account", "name": "alice"})

    assert (response.status_code, response["Location"]) == (302, "/locks/")
    assert post_login(browser(ATTACKER_IP), "alice").status_code == 302
    (lift,) = events("auth.unlock")
    assert (lift.actor, lift.target_name) == (unlocker, "alice")
    assert audit_details(lift) == {"kind": "account", "seconds": 900 - PAST_ANY_DELAY}


def test_the_locks_page_lifts_an_address_lock_audited(unlocker, alice):
    lock_ip(ATTACKER_IP)

    logged_in_client(unlocker).post("/locks/", {"kind": "ip", "name": ATTACKER_IP})

    assert post_login(browser(ATTACKER_IP), "alice").status_code == 302
    (lift,) = events("auth.unlock")
    assert lift.target_name == ATTACKER_IP and audit_details(lift)["kind"] == "ip"
    assert "Nothing is locked." in text(logged_in_client(unlocker).get("/locks/"))


def test_lifting_an_account_lifts_its_locked_browsers_too(unlocker, alice, clock):
    owner = owners_browser()
    fail_passwords(owner, "alice", throttle.DEVICE_GUARD.lock_after, clock)
    assert "1 browser with a device cookie" in text(logged_in_client(unlocker).get("/locks/"))

    logged_in_client(unlocker).post("/locks/", {"kind": "account", "name": "alice"})

    assert post_login(owner, "alice").status_code == 302


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_locks_page_needs_the_permission(alice, method, clock):
    lock_account("alice", clock)
    client = logged_in_client(UserFactory(username="nosy"))

    response = getattr(client, method)("/locks/", {"kind": "account", "name": "alice"})

    assert response.status_code == 403
    assert TOO_MANY in text(post_login(browser(), "alice"))
    assert events("auth.unlock") == []


def test_lifting_a_lock_needs_the_csrf_token(unlocker, alice, clock):
    lock_account("alice", clock)
    client = logged_in_client(unlocker, enforce_csrf_checks=True)

    response = client.post("/locks/", {"kind": "account", "name": "alice"})

    assert response.status_code == 403 and events("auth.unlock") == []


def test_lifting_something_that_is_no_lock_is_refused(unlocker):
    response = logged_in_client(unlocker).post("/locks/", {"kind": "session", "name": "alice"})

    assert response.status_code == 400 and events("auth.unlock") == []


def test_the_locks_module_is_in_the_navigation_of_permission_holders(unlocker):
    page = text(logged_in_client(unlocker).get("/account/"))

    assert 'href="/locks/"' in page


def test_the_permission_can_be_granted_in_roles():
    from organisation.permissions import LABELS

    assert "core.unlock_accounts" in LABELS


# lifting locks: the operator's command


def run(*args):
    out = io.StringIO()
    call_command("locks", *args, stdout=out)
    return out.getvalue()


def test_the_command_lists_locked_accounts_and_addresses(alice, clock):
    lock_account("alice", clock)
    lock_ip("2001:db8:9:9::1")

    listing = run("list")

    assert "account  alice" in listing and "ip       2001:db8:9:9::/64" in listing


def test_the_command_says_when_nothing_is_locked(db):
    assert run("list").strip() == "Nothing is locked."


def test_the_command_lifts_an_account_lock_audited(alice, clock):
    lock_account("Alice", clock)

    out = run("unlock", "--user", "ALICE")

    assert "Lifted the lock of the account ALICE" in out
    assert post_login(browser(ATTACKER_IP), "alice").status_code == 302
    (lift,) = events("auth.unlock")
    assert (lift.actor_name, lift.target_name, audit_details(lift)["kind"]) == ("operator", "alice", "account")


def test_the_command_lifts_an_ipv6_64_by_any_of_its_addresses(alice):
    lock_ip("2001:db8:9:9::1")

    run("unlock", "--ip", "2001:db8:9:9:abcd::7")

    assert post_login(browser("2001:db8:9:9::1"), "alice").status_code == 302
    assert events("auth.unlock")[0].target_name == "2001:db8:9:9::/64"


def test_the_command_refuses_what_is_no_address(db):
    with pytest.raises(CommandError, match="not an IP address"):
        run("unlock", "--ip", "example.com")
    assert events("auth.unlock") == []


def test_a_lift_by_the_service_is_audited_with_its_origin(alice, clock):
    lock_account("alice", clock)

    throttle.lift_lock(origin=SETUP, kind="account", name="alice")

    assert events("auth.unlock")[0].user_agent == "test setup"
