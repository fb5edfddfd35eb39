"""The token lookup compiled once per connection (tokens.lookup): the same SQL and the same objects as the ORM's
queryset, and no state kept between requests, so a change made by any process is seen by the next request.

Runs on SQLite and on PostgreSQL (DATABASE_URL): the SQL compared is each backend's own.
"""

import gc
import threading
import weakref
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.audit import Origin
from tests.factories import UserFactory
from tests.integration.api_script import grant_api_module
from tokens import lookup, services

pytestmark = pytest.mark.django_db


@pytest.fixture
def made(db):
    """A limited token with an allow-list, of a user who holds the API module; returns (token, Bearer string)."""
    user = UserFactory()
    grant_api_module(user)
    user.user_permissions.add(Permission.objects.get(content_type__app_label="accounts", codename="view_user"))
    token, secret = services.token_create(
        origin=Origin(actor=user),
        user=user,
        long_term=True,
        name="lookup",
        ip_allowlist=["127.0.0.1", "192.0.2.0/24"],
        permissions=["accounts.view_user"],
    )
    return token, f"pnl_{token.pk}_{secret}"


def _user_info(bearer):
    # A fresh client each time: nothing of a previous request (cookie, session) can carry over.
    return Client().get("/api/user/info", headers={"Authorization": f"Bearer {bearer}"})


def test_compiled_lookup_runs_the_sql_the_orm_would(made):
    token, _bearer = made
    sql, params = lookup.token_queryset().filter(pk=token.pk).query.sql_with_params()
    compiled = lookup.compiled_lookup()

    with CaptureQueriesContext(connection) as queries:
        lookup.token_with_owner(token.pk)

    assert compiled.sql == sql
    assert [token.pk if param == lookup._STAND_IN else param for param in compiled.params] == list(params)
    assert len(queries.captured_queries) == 1  # still logged, and counted, as the request's one query


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")
def test_the_lookup_is_a_prepared_statement_of_the_connection(made):
    token, _bearer = made

    for _ in range(6):  # psycopg prepares a statement at its fifth run (core.conf)
        lookup.token_with_owner(token.pk)

    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s", ["%tokens_accesstoken%"])
        prepared = [row[0] for row in cursor.fetchall()]
    # Prepared once: the server plans it no more.
    assert len(prepared) == 1 and '"tokens_accesstoken"."id" = $' in prepared[0]
    with CaptureQueriesContext(connection) as queries:
        lookup.token_with_owner(token.pk)
    (query,) = queries.captured_queries
    assert '"tokens_accesstoken"."id" = $' in query["sql"]  # run prepared, still logged with its SQL


def test_compiled_lookup_reads_what_the_orm_reads(made):
    token, _bearer = made
    expected = lookup.token_queryset().get(pk=token.pk)

    found = lookup.token_with_owner(token.pk)

    fields = [field.attname for field in type(expected)._meta.concrete_fields]
    assert [getattr(found, name) for name in fields] == [getattr(expected, name) for name in fields]
    user_fields = [field.attname for field in type(expected.user)._meta.concrete_fields]
    assert [getattr(found.user, name) for name in user_fields] == [getattr(expected.user, name) for name in user_fields]
    # Each column went through the backend's converters: SQLite answers datetimes as text, booleans as integers.
    assert isinstance(found.expires_at, datetime) and found.expires_at.tzinfo is not None
    assert found.owner_has_api_module is True and expected.owner_has_api_module is True
    assert found.ip_allowlist == ["127.0.0.1", "192.0.2.0/24"] and found.permissions == ["accounts.view_user"]
    assert found.secret == expected.secret  # the encrypted field's value came back as stored
    assert found._state.adding is False and found._state.db == "default"
    assert found.user._state.adding is False
    assert found.user_id == found.user.pk


def test_unknown_token_is_none_in_one_query(made):
    token, _bearer = made
    with CaptureQueriesContext(connection) as captured:
        assert lookup.token_with_owner(token.pk + 1000) is None
    assert len(captured.captured_queries) == 1


@pytest.mark.parametrize("token_id", [0, 2**63, 10**19 - 1])
def test_an_id_no_row_can_have_asks_no_query(db, token_id):
    with CaptureQueriesContext(connection) as captured:
        assert lookup.token_with_owner(token_id) is None
    assert captured.captured_queries == []


def test_the_sql_is_compiled_once_per_connection(made):
    token, _bearer = made
    lookup.token_with_owner(token.pk)
    compiled = lookup.compiled_lookup()

    lookup.token_with_owner(token.pk)

    assert lookup.compiled_lookup() is compiled
    assert "%s" in compiled.sql and str(token.pk) not in compiled.params


def test_a_threads_lookup_goes_with_its_connection(db):
    """Each thread has its own connection object, and its own compiled lookup: neither outlives the thread."""
    compiled = []

    def serve_one_request():
        compiled.append(weakref.ref(lookup.compiled_lookup()))
        connections.close_all()

    worker = threading.Thread(target=serve_one_request)
    worker.start()
    worker.join()
    gc.collect()

    assert compiled[0]() is None


def _raw(sql, params):
    """Change the database behind the ORM's back, as another process (or an operator's psql) would."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _delete_token(token):
    _raw("DELETE FROM tokens_accesstoken WHERE id = %s", [token.pk])


def _expire_token(token):
    _raw("UPDATE tokens_accesstoken SET expires_at = %s WHERE id = %s", [datetime.now(UTC) - timedelta(1), token.pk])


def _move_allowlist(token):
    _raw("UPDATE tokens_accesstoken SET ip_allowlist = %s WHERE id = %s", ['["198.51.100.1"]', token.pk])


def _disable_owner(token):
    _raw("UPDATE accounts_user SET is_active = %s WHERE id = %s", [False, token.user_id])


def _take_the_api_module(token):
    use_api = Permission.objects.get(content_type__app_label="accounts", codename="use_api")
    _raw(
        "DELETE FROM accounts_user_user_permissions WHERE user_id = %s AND permission_id = %s",
        [token.user_id, use_api.pk],
    )


def _narrow_the_token(token):
    # The token may no longer view users: its own user record stays readable (/api/user/info), but not the list.
    _raw("UPDATE tokens_accesstoken SET permissions = %s WHERE id = %s", ["[]", token.pk])


@pytest.mark.parametrize(
    ("change", "status"),
    [
        (_delete_token, 401),
        (_expire_token, 401),
        (_move_allowlist, 403),
        (_disable_owner, 401),
        (_take_the_api_module, 403),
    ],
)
def test_a_change_made_elsewhere_is_seen_by_the_next_request(made, change, status):
    token, bearer = made
    assert _user_info(bearer).status_code == 200  # compiled and used: nothing of this row may stay behind

    change(token)

    assert _user_info(bearer).status_code == status


def test_a_role_losing_the_api_module_elsewhere_is_seen_by_the_next_request(db):
    user = UserFactory()
    role = Group.objects.create(name="scripts")
    role.permissions.add(Permission.objects.get(content_type__app_label="accounts", codename="use_api"))
    user.groups.add(role)
    token, secret = services.token_create(origin=Origin(actor=user), user=user, long_term=True)
    bearer = f"pnl_{token.pk}_{secret}"
    assert _user_info(bearer).status_code == 200

    _raw("DELETE FROM auth_group_permissions WHERE group_id = %s", [role.pk])

    assert _user_info(bearer).status_code == 403


def test_a_narrowed_token_is_seen_by_the_next_request(made):
    token, bearer = made
    list_users = Client().get("/api/users", headers={"Authorization": f"Bearer {bearer}"})
    assert list_users.status_code == 200

    _narrow_the_token(token)

    assert Client().get("/api/users", headers={"Authorization": f"Bearer {bearer}"}).status_code == 403
