"""Helpers for the integration tests: real database, real sessions, real hasher."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.contrib.sessions.models import Session
from django.core import serializers
from django.test import Client

from core.audit import Origin
from core.models import AuditEvent
from tests.factories import UserFactory
from usersessions.models import UserSession

# A password that meets every rule and differs from the factories' default.
NEW_PASSWORD = "Fresh-river-77"

_CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


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


def session_key_of(client):
    cookie = client.cookies.get("sessionid")
    return cookie.value if cookie else None


def session_exists(key):
    return key is not None and Session.objects.filter(session_key=key).exists()


def user_session_keys(user):
    return set(UserSession.objects.filter(user=user).values_list("session_key", flat=True))


def strip_csrf(content):
    return _CSRF_INPUT.sub(b'name="csrfmiddlewaretoken" value=""', content)


def audit_dump():
    """Every stored audit event, every field, serialized as the database holds them."""
    return serializers.serialize("json", AuditEvent.objects.all())


def events(action=None, **filters):
    queryset = AuditEvent.objects.order_by("created_at", "id")
    if action is not None:
        queryset = queryset.filter(action=action)
    return list(queryset.filter(**filters))


@pytest.fixture
def origin(admin_user):
    """An admin acting through the web."""
    return Origin(actor=admin_user, ip="192.0.2.10", user_agent="integration-test")


@pytest.fixture
def other_user(db):
    return UserFactory(username="bob", email="bob@example.com")
