"""Helpers for the integration tests: real database, real sessions, real hasher."""

import html
import json
import re
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.core import mail, serializers
from django.db import connection
from django.test import Client

from core.audit import Origin
from core.models import AuditEvent
from mfa import services as mfa_services
from passkeys import services as passkey_services
from passkeys.relying_party import RelyingParty
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import SETUP
from tests.soft_authenticator import SoftAuthenticator
from usersessions.models import UserSession

# A password that meets every rule and differs from the factories' default.
NEW_PASSWORD = "Fresh-river-77"
# The relying party the test client's pages are on (Host: localhost, a secure context).
TEST_RP = RelyingParty("localhost", "Panel", ("http://localhost",))

_CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')
_FIELD_BLOCK = re.compile(r'<div class="field[^"]*">(.*?)</div>', re.DOTALL)  # _field.html has no nested div
_NAV = re.compile(r'<nav class="modules" aria-label="Modules">(.*?)</nav>', re.DOTALL)
# The otpauth:// URL an authenticator enrolment shows (as a QR code and as text).
OTPAUTH = re.compile(r"otpauth://totp/[^\s<\"]+")


def grant(user, *perms):
    """Give ``user`` the named permissions ("app_label.codename") and return it, freshly loaded."""
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    # Permissions are cached on the instance; hand back one without the cache.
    return type(user).objects.get(pk=user.pk)


def logged_in_client(user, **client_kwargs):
    """A separate browser with ``user`` logged in (through django.contrib.auth.login)."""
    client = Client(**client_kwargs)
    client.force_login(user)
    return client


def post_login(client, username, password=DEFAULT_PASSWORD, **extra):
    """Post the login form (``extra`` are more form fields); returns the response."""
    return client.post("/login/", {"username": username, "password": password, **extra})


def is_logged_in(client, user):
    """Whether ``client``'s session says it is logged in as ``user``."""
    return client.session.get("_auth_user_id") == str(user.pk)


def opens_account_page(client):
    """Whether ``client`` may open its account page, i.e. is logged in and let through."""
    return client.get("/account/").status_code == 200


def session_user_id(client):
    """The user ID the browser's session is logged in as (read from the store, creating no session), or None."""
    key = session_key_of(client)
    if not key:
        return None
    user_id = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key).get("_auth_user_id")
    return int(user_id) if user_id is not None else None


def session_key_of(client):
    cookie = client.cookies.get("sessionid")
    return cookie.value if cookie else None


def session_exists(key):
    return key is not None and Session.objects.filter(session_key=key).exists()


def user_session_keys(user):
    return set(UserSession.objects.filter(user=user).values_list("session_key", flat=True))


def strip_csrf(content):
    return _CSRF_INPUT.sub(b'name="csrfmiddlewaretoken" value=""', content)


def register_passkey(user, *, name="Laptop", authenticator=None):
    """A passkey of ``user`` registered through passkeys.services, as the pages would; returns (passkey, authenticator).

    Unlike tests.factories.PasskeyFactory, this runs the whole ceremony and writes its audit event.
    """
    authenticator = authenticator or SoftAuthenticator()
    options = json.loads(passkey_services.registration_options(user=user, rp=TEST_RP, name=name))
    credential = authenticator.register(options)
    passkey = passkey_services.passkey_register(origin=SETUP, user=user, rp=TEST_RP, credential=credential)
    return passkey, authenticator


def page_text(response):
    """A page's HTML as text, entities resolved (what a visitor reads, tags included)."""
    return html.unescape(response.content.decode())


def messages_of(response):
    """The messages (django.contrib.messages) a rendered response shows, as text."""
    return [str(message) for message in response.context["messages"]] if response.context else []


def field_block(response, name):
    """The rendered block (label, input, help, errors) of the form field called ``name``."""
    for match in _FIELD_BLOCK.finditer(response.content.decode()):
        if f'name="{name}"' in match.group(1):
            return match.group(0)
    raise AssertionError(f"no field {name!r} on the page")


def field_errors(response, name):
    """The errors of the form field ``name`` in the response's context, as text."""
    return [str(error) for error in response.context["form"].errors.get(name, [])]


def nav_labels(response):
    """The labels of the module links in the page's navigation, in order."""
    (nav,) = _NAV.findall(response.content.decode())
    return re.findall(r">([^<]+)</a>", nav)


def mailed_code(message=None):
    """The 6-digit code in an email (the last one sent unless given)."""
    message = message or mail.outbox[-1]
    return re.search(r"\b(\d{6})\b", message.body).group(1)


def wrong_code(code):
    """A well-formed code that is not ``code``."""
    return "000000" if code != "000000" else "111111"


def turn_on_email(user, *, origin=SETUP):
    """Turn on email codes for ``user`` through mfa.services, confirming with the code it sent."""
    device = mfa_services.email_begin(origin=origin, user=user)
    device.refresh_from_db()
    mfa_services.email_confirm(origin=origin, user=user, device=device, code=mailed_code())


def audit_details(event):
    """An audit event's details without the channel ("via") every event carries."""
    return {key: value for key, value in event.details.items() if key != "via"}


def audit_dump():
    """Every stored audit event, every field, serialized as the database holds them."""
    return serializers.serialize("json", AuditEvent.objects.all())


def events(action=None, **filters):
    queryset = AuditEvent.objects.order_by("created_at", "id")
    if action is not None:
        queryset = queryset.filter(action=action)
    return list(queryset.filter(**filters))


@pytest.fixture
def postgresql_only():
    """Races need a database with row locks and real concurrency: PostgreSQL. Skipped on SQLite."""
    if connection.vendor != "postgresql":
        pytest.skip("races need PostgreSQL: run with DATABASE_URL=postgres://...")


@pytest.fixture
def origin(admin_user):
    """An admin acting through the web."""
    return Origin(actor=admin_user, ip="192.0.2.10", user_agent="integration-test")


@pytest.fixture
def carol(db):
    """A user with no permissions."""
    return UserFactory(username="carol", email="carol@example.com")


@pytest.fixture
def other_user(db):
    return UserFactory(username="bob", email="bob@example.com")
