"""The power rule, for every combination: hypothesis draws actors and targets and tries every action.

An actor may act on a user only when the user is in the actor's scope (their company and its
subsidiaries; no company: the whole panel), holds no permission the actor lacks, and is not a
superuser unless the actor is. Nobody changes their own expiry, session policy or access. The
expectation below is written independently of organisation.scope, from that sentence.
"""

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from organisation.models import Company
from tests.factories import UserFactory
from tests.integration.api_script import grant_api_module
from tests.integration.conftest import logged_in_client

pytestmark = pytest.mark.django_db

POOL = (
    "accounts.view_user",
    "accounts.change_user",
    "accounts.delete_user",
    "tokens.manage_others_tokens",
    "mfa.reset_two_factor",
    "passkeys.manage_others_passkeys",
    "core.view_auditevent",
)
# page path (after /users/<pk>/), the permission acting on someone else needs, whether yourself needs none,
# and whether it is one of the changes nobody makes to their own account.
ACTIONS = {
    "password": ("password/", "accounts.change_user", True, False),
    "expiry": ("expiry/", "accounts.change_user", False, True),
    "session_policy": ("session-policy/", "accounts.change_user", False, True),
    "access": ("access/", "accounts.change_user", False, True),
    "move": ("company/", "accounts.change_user", False, False),
    "delete": ("delete/", "accounts.delete_user", False, False),
    "sessions": ("sessions/", "accounts.change_user", True, False),
    "tokens": ("tokens/", "tokens.manage_others_tokens", True, False),
    "two_factor": ("two-factor/", "mfa.reset_two_factor", True, False),
    "passkeys": ("passkeys/", "passkeys.manage_others_passkeys", True, False),
}
# The same rule in the API: path (after /api/users/<pk>), the permission acting on someone else needs,
# whether yourself needs none.
API_READS = {
    "details": ("", "accounts.view_user", True),
    "tokens": ("/tokens", "tokens.manage_others_tokens", True),
    "two_factor": ("/two-factor", "mfa.reset_two_factor", True),
    "passkeys": ("/passkeys", "passkeys.manage_others_passkeys", True),
}
PROBE = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

people = st.fixed_dictionaries(
    {
        "perms": st.sets(st.sampled_from(POOL)),
        "place": st.sampled_from(["staff", "root", "east", "east_sub", "west"]),
        "superuser": st.booleans(),
    }
)


TREE = {
    "root": {"root", "east", "east_sub", "west"},
    "east": {"east", "east_sub"},
    "east_sub": {"east_sub"},
    "west": {"west"},
}


def _in_scope(actor, target, tree):
    if actor["place"] == "staff":
        return True
    return target["place"] in tree[actor["place"]]


def _expected_status(actor, target, action, *, same, actions=ACTIONS):
    """What the page or endpoint answers, from the rule as the issue states it."""
    _path, permission, self_allowed, *rest = actions[action]
    self_excluded = bool(rest and rest[0])
    if actor["superuser"]:
        return 200
    if same:
        if self_excluded:
            return 403
        if self_allowed:
            return 200
    if permission not in actor["perms"]:
        return 403
    reachable = (
        not target["superuser"] and _in_scope(actor, target, TREE) and set(target["perms"]) <= set(actor["perms"])
    )
    return 200 if reachable else 404


def _make(person, companies, name):
    company = None if person["place"] == "staff" else companies[person["place"]]
    user = UserFactory(username=name, company=company, is_superuser=person["superuser"])
    for perm in person["perms"]:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    grant_api_module(user)  # everyone holds it, so it never decides
    return type(user).objects.get(pk=user.pk)


@PROBE
@given(actor=people, target=people, same=st.booleans())
def test_every_action_on_a_user_follows_the_power_rule(db, actor, target, same):
    with transaction.atomic():
        root = Company.objects.create(name="Root")
        east = Company.objects.create(name="East", parent=root)
        companies = {
            "root": root,
            "east": east,
            "east_sub": Company.objects.create(name="East-Sub", parent=east),
            "west": Company.objects.create(name="West", parent=root),
        }
        acting = _make(actor, companies, "actor")
        acted_on = acting if same else _make(target, companies, "target")
        browser = logged_in_client(acting)
        seen = actor if same else target
        for action, (path, *_rest) in ACTIONS.items():
            response = browser.get(f"/users/{acted_on.pk}/{path}")
            expected = _expected_status(actor, seen, action, same=same)
            assert response.status_code == expected, (action, actor, target, same)
        for action, (path, *_rest) in API_READS.items():
            response = browser.get(f"/api/users/{acted_on.pk}{path}")
            expected = _expected_status(actor, seen, action, same=same, actions=API_READS)
            assert response.status_code == expected, ("api", action, actor, target, same)
        _check_api_expiry(browser, acted_on, _expected_status(actor, seen, "expiry", same=same))
        transaction.set_rollback(True)


def _check_api_expiry(browser, acted_on, expected):
    """Clearing an expiry through the API: allowed exactly where the expiry page is."""
    browser.get("/account/")  # a CSRF cookie, as the panel's pages give a browser
    response = browser.patch(
        f"/api/users/{acted_on.pk}",
        {"expires_at": None},
        content_type="application/json",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )
    assert response.status_code == expected, ("api expiry", response.content)
