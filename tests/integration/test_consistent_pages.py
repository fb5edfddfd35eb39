"""The pages say the same thing the same way: one date-time format (shown and typed), real labels
for empty choices, "Creation Time" for every creation column, and the top bar keeps up with a rename."""

import datetime
import re

import pytest
import time_machine

from core.templatetags.moments import format_moment, moment
from tests.factories import AccessTokenFactory, CompanyFactory, PasskeyFactory, UserFactory
from tests.integration.conftest import field_block, logged_in_client

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
T0 = datetime.datetime(2031, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)


# One date-time format


def test_a_moment_shows_as_24_hour_utc_with_the_zone_named():
    afternoon = datetime.datetime(2031, 5, 6, 21, 8, 9, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))

    assert format_moment(afternoon) == "2031-05-06 19:08 UTC"
    assert moment(afternoon) == '<time datetime="2031-05-06T19:08:09+00:00">2031-05-06 19:08 UTC</time>'
    assert moment(None) == ""


PAGES_WITH_CREATION_TIMES = [
    "/users/",
    "/users/{admin}/tokens/",
    "/users/{admin}/passkeys/",
    "/users/{admin}/sessions/",
    "/companies/",
    "/account/",
]


@pytest.mark.parametrize("page", PAGES_WITH_CREATION_TIMES)
def test_every_page_shows_creation_times_the_same_way(admin_user, page):
    with time_machine.travel(T0, tick=False):
        admin_client = logged_in_client(admin_user)
        AccessTokenFactory(user=admin_user)
        PasskeyFactory(user=admin_user)
        CompanyFactory(name="Acme")
        admin_user.date_joined = T0
        admin_user.save()
        body = admin_client.get(page.format(admin=admin_user.pk)).content.decode()

    assert re.search(r">2031-05-06 07:08 UTC</time>", body)
    assert not re.search(r">\d{4}-\d\d-\d\d \d\d:\d\d</time>", body)  # never without its zone
    assert "Creation Time" in body
    assert not re.search(r"Created At|Created \(UTC\)|Logged in \(UTC\)|>Created<", body)


@pytest.mark.parametrize("page", ["/users/new/", "/users/{carol}/expiry/", "/users/{admin}/tokens/new/"])
def test_moment_inputs_are_typed_in_the_format_the_lists_show(admin_client, admin_user, page):
    carol = UserFactory(username="carol")

    block = field_block(admin_client.get(page.format(admin=admin_user.pk, carol=carol.pk)), "expires_at")

    assert "(UTC)" in block  # the label names the zone
    assert re.search(r'<input type="text" name="expires_at"[^>]*placeholder="YYYY-MM-DD HH:MM"', block)
    assert "datetime-local" not in block


def test_an_expiry_typed_as_the_list_shows_it_is_saved(admin_client, admin_user):
    carol = UserFactory(username="carol")

    admin_client.post(f"/users/{carol.pk}/expiry/", {"expires_at": "2031-05-06 19:30"})

    carol.refresh_from_db()
    assert carol.expires_at == datetime.datetime(2031, 5, 6, 19, 30, tzinfo=datetime.UTC)


def test_the_audit_filters_are_typed_too(admin_client):
    body = admin_client.get("/audit/", {"since": "2031-05-06 19:30"}).content.decode()

    assert 'for="id_since">From (UTC)</label>' in body
    assert re.search(r'<input type="text" name="since" value="2031-05-06 19:30"[^>]*placeholder="YYYY-MM-DD"', body)
    assert 'type="date"' not in body


# Empty choices


@pytest.mark.parametrize(
    ("page", "label"),
    [
        ("/users/new/", "— No company: panel staff, who see every user —"),
        ("/users/{carol}/company/", "— No company: panel staff, who see every user —"),
        ("/companies/new/", "— None: a company at the top of the tree —"),
        ("/roles/new/", "— No company: a role of the whole panel —"),
    ],
)
def test_empty_choices_have_a_real_label(admin_client, page, label):
    CompanyFactory(name="Acme")
    carol = UserFactory(username="carol")

    body = admin_client.get(page.format(carol=carol.pk)).content.decode()

    assert f'<option value="">{label}</option>' in body or f'<option value="" selected>{label}</option>' in body
    assert "---------" not in body


# The top bar after a rename


def test_renaming_yourself_inline_renames_you_in_the_top_bar(admin_client, admin_user):
    response = admin_client.post(f"/users/{admin_user.pk}/username/edit/", {"value": "chief"}, headers=HTMX)

    assert '<a id="topbar-account" href="/account/" hx-swap-oob="true">chief</a>' in response.content.decode()
    assert '<a id="topbar-account" href="/account/">chief</a>' in admin_client.get("/users/").content.decode()


def test_renaming_someone_else_leaves_the_top_bar_alone(admin_client):
    carol = UserFactory(username="carol")

    response = admin_client.post(f"/users/{carol.pk}/username/edit/", {"value": "caroline"}, headers=HTMX)

    assert response.status_code == 200
    assert "topbar-account" not in response.content.decode()


# The inline edit's own page (a link opened in a new tab, or no JavaScript)


def test_the_field_edit_page_is_a_plain_form_that_targets_no_cell(admin_client):
    carol = UserFactory(username="carol")

    body = admin_client.get(f"/users/{carol.pk}/username/edit/").content.decode()

    assert 'hx-target="closest td"' not in body  # htmx would find no cell and save nothing
    assert '<button type="submit">Save</button>' in body
