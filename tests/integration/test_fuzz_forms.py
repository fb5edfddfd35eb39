"""Whatever text reaches the user forms, the answer is a success or a clear error, never a 500.

Every example runs inside the test's one transaction, so counts are taken before
and after each request rather than assumed from an empty table.
"""

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from accounts.models import User
from core.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

CLEAR_ANSWERS = {200, 302, 400}

# Hostile text: anything Unicode (control characters and NUL included), very long
# strings, and NUL bytes planted inside otherwise plausible values.
long_text = st.builds(lambda chunk, times: chunk * times, st.text(min_size=1, max_size=8), st.integers(40, 800))
with_nul = st.builds(lambda head, tail: f"{head}\x00{tail}", st.text(max_size=10), st.text(max_size=10))
control = st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Zs"]), max_size=20)
hostile = st.one_of(st.text(), long_text, with_nul, control)

# Plausible values, so that the success path is fuzzed too.
plausible_username = st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True)
plausible_email = st.builds(
    "{}@{}.example.com".format, plausible_username, st.from_regex(r"[a-z]{1,10}", fullmatch=True)
)
plausible_password = st.from_regex(r"[A-Za-z]{3,7}[0-9]{2,5}[!#%+.:=?@_~-]{1,4}", fullmatch=True)

usernames = st.one_of(hostile, plausible_username, st.builds(lambda name: f"  {name}\t", plausible_username))
emails = st.one_of(hostile, plausible_email, st.emails())
passwords = st.one_of(hostile, plausible_password)


def _post(client, url, data, *, urlencoded=False, htmx=False):
    headers = {"HX-Request": "true"} if htmx else {}
    if urlencoded:
        return client.post(url, urlencode(data), content_type="application/x-www-form-urlencoded", headers=headers)
    return client.post(url, data, headers=headers)


def _shows_an_error(response):
    form = response.context["form"]
    return bool(form.errors) and (b'class="errors"' in response.content or b'role="alert"' in response.content)


def _create_events():
    return AuditEvent.objects.filter(action="user.create").count()


def _update_events():
    return AuditEvent.objects.filter(action="user.update").count()


# The create-user page.


# Half the time every field is plausible, so that creations happen often enough to check.
new_users = st.one_of(
    st.tuples(usernames, emails, passwords), st.tuples(plausible_username, plausible_email, plausible_password)
)


@FUZZ
@given(new_user=new_users, urlencoded=st.booleans())
def test_create_user_page_answers_any_text_with_a_new_user_or_a_clear_error(admin_client, new_user, urlencoded):
    username, email, password = new_user
    users_before, events_before = User.objects.count(), _create_events()

    response = _post(
        admin_client, "/users/new/", {"username": username, "email": email, "password": password}, urlencoded=urlencoded
    )

    assert response.status_code in CLEAR_ANSWERS
    created = User.objects.count() - users_before
    assert created in (0, 1)
    assert _create_events() - events_before == created
    event("created" if created else "refused")
    if created:
        assert response.status_code == 302
        user = User.objects.get(username=username.strip())
        assert user.check_password(password)
    else:
        assert response.status_code == 400
        assert _shows_an_error(response)


def test_nul_byte_in_a_new_username_is_refused_with_a_clear_error(admin_client):
    users_before = User.objects.count()
    response = admin_client.post(
        "/users/new/", {"username": "ali\x00ce", "email": "alice@example.com", "password": "Zebra-Lamp-42"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["username"] == ["Null characters are not allowed."]
    assert User.objects.count() == users_before


def test_nul_byte_in_a_new_password_is_refused_with_a_clear_error(admin_client):
    response = admin_client.post(
        "/users/new/", {"username": "alice", "email": "alice@example.com", "password": "Zebra\x00Lamp-42"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["password"] == ["Null characters are not allowed."]
    assert not User.objects.filter(username="alice").exists()


def test_refused_new_user_writes_no_audit_event(admin_client):
    admin_client.post("/users/new/", {"username": "alice", "email": "alice@example.com", "password": "password1"})
    assert not User.objects.filter(username="alice").exists()
    assert _create_events() == 0


# The inline edit of a username or an email.


def _normalised(field, value):
    """The value as the service stores it."""
    return value.strip() if field == "username" else User.objects.normalize_email(value).strip()


@pytest.fixture
def target(db):
    return UserFactory(username="target", email="target@example.com")


@pytest.mark.parametrize("htmx", [False, True], ids=["plain-form", "htmx"])
@pytest.mark.parametrize("field", ["username", "email"])
@FUZZ
@given(value=st.one_of(usernames, emails), urlencoded=st.booleans())
def test_inline_edit_answers_any_text_by_saving_it_or_leaving_the_stored_value_untouched(
    admin_client, target, field, htmx, value, urlencoded
):
    before, events_before = getattr(User.objects.get(pk=target.pk), field), _update_events()

    response = _post(
        admin_client, f"/users/{target.pk}/{field}/edit/", {"value": value}, urlencoded=urlencoded, htmx=htmx
    )

    assert response.status_code in CLEAR_ANSWERS
    after = getattr(User.objects.get(pk=target.pk), field)
    refused = response.status_code == 400 or (htmx and b'role="alert"' in response.content)
    event("refused" if refused else "saved" if after != before else "unchanged")
    if refused:
        assert _shows_an_error(response)
        assert after == before
        assert _update_events() == events_before
    else:
        assert response.status_code == (200 if htmx else 302)
        assert after == _normalised(field, value)
        assert _update_events() - events_before == (1 if after != before else 0)


@pytest.mark.parametrize("field", ["username", "email"])
def test_nul_byte_in_an_inline_edit_is_refused_and_leaves_the_value_untouched(admin_client, target, field):
    before = getattr(target, field)
    response = admin_client.post(
        f"/users/{target.pk}/{field}/edit/", {"value": f"new\x00{before}"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert b"Null characters are not allowed." in response.content
    target.refresh_from_db()
    assert getattr(target, field) == before


def test_refused_inline_edit_without_htmx_answers_400(admin_client, target):
    response = admin_client.post(f"/users/{target.pk}/username/edit/", {"value": "no spaces allowed"})
    assert response.status_code == 400
    target.refresh_from_db()
    assert target.username == "target"
