"""Two logins of an exclusive-login account at the same moment: the later one ends the earlier one.

``usersessions.services.session_start`` locks the user's row before it records the new session and
ends the others, so two logins run one after the other and exactly one session stays logged in.
Only a database with row locks shows this: PostgreSQL. The earlier login's request may still save
its session after the later one ended it; the session policy middleware then ends it at its next
request, which the last test shows on any database.
"""

from functools import partial
from importlib import import_module

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client

from core.audit import Origin
from tests.factories import UserFactory, logged_in_session_key
from tests.helpers import at_the_same_moment
from tests.integration.conftest import (
    events,
    opens_account_page,
    page_text,
    post_login,
    session_key_of,
    user_session_keys,
)
from usersessions import services as session_services
from usersessions.policy import SIGNED_IN_ELSEWHERE

ROUNDS = 15

pytestmark = pytest.mark.django_db(transaction=True)


def _stored_sessions_logged_in_as(user):
    """The keys of the stored Django sessions that log a browser in as ``user``."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    keys = Session.objects.values_list("session_key", flat=True)
    return {key for key in keys if store(session_key=key).get(SESSION_KEY) == str(user.pk)}


@pytest.mark.usefixtures("postgresql_only")
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_simultaneous_session_starts_leave_one_session(round_):
    user = UserFactory(exclusive_login=True)
    keys = [logged_in_session_key(user), logged_in_session_key(user)]
    starts = [
        partial(
            session_services.session_start,
            origin=Origin(ip="192.0.2.1", user_agent=f"browser {number}"),
            user=user,
            session_key=key,
        )
        for number, key in enumerate(keys)
    ]

    assert at_the_same_moment(*starts) == [None, None]

    (survivor,) = _stored_sessions_logged_in_as(user)
    assert user_session_keys(user) == {survivor}
    # The later login ended the earlier one, and says so.
    assert sorted(event.details["other_sessions_ended"] for event in events("auth.login")) == [0, 1]


@pytest.mark.usefixtures("postgresql_only")
@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_simultaneous_logins_through_the_page_leave_one_browser_logged_in(round_):
    user = UserFactory(exclusive_login=True)
    browsers = [Client(), Client()]

    responses = at_the_same_moment(*(partial(post_login, browser, user.username) for browser in browsers))

    assert [response.status_code for response in responses] == [302, 302], responses
    assert [opens_account_page(browser) for browser in browsers].count(True) == 1
    assert len(_stored_sessions_logged_in_as(user)) == 1


def test_a_session_ended_while_its_login_was_still_saving_it_stays_ended():
    """The earlier login's request saves its session after the later login ended it (rare, but seen on
    PostgreSQL): the save brings the login back, but the session is no longer recorded, so it ends."""
    user = UserFactory(exclusive_login=True)
    earlier, later = Client(), Client()
    post_login(earlier, user.username)
    earlier_key = session_key_of(earlier)
    saved_as_logged_in = Session.objects.get(session_key=earlier_key).session_data

    post_login(later, user.username)
    Session.objects.filter(session_key=earlier_key).update(session_data=saved_as_logged_in)

    response = earlier.get("/account/", follow=True)
    assert SIGNED_IN_ELSEWHERE in page_text(response)
    assert not opens_account_page(earlier)
    assert opens_account_page(later)
    assert _stored_sessions_logged_in_as(user) == {session_key_of(later)}
