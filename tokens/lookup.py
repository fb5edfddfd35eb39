"""The token lookup of every API request: its SQL compiled once per database connection, run with the token ID.

Token authentication reads one row per request: the token, its owner and whether the owner holds the
API module (``accounts.selectors.with_api_module``). Building that query with the ORM (two models'
columns, two ``EXISTS`` subqueries) took about 1 ms of CPU per request, twenty times what running it
takes. So the queryset is built and compiled once per database connection object (one per process
and alias under gunicorn's sync workers, one per thread elsewhere), with a stand-in for the token ID;
each request runs that SQL through the connection's cursor with its own ID, and turns the row into
the token, its user and the annotation with Django's own machinery: the compiler's converters (SQLite
returns datetimes as text, and booleans as integers), ``Model.from_db`` and the select_related
populators, exactly as ``QuerySet.get()`` would.

On PostgreSQL the statement is also prepared per connection (psycopg's protocol-level prepared statements,
after its fifth run): the EXISTS subqueries over five tables cost the server about 0.25 ms of planning per
request, five times what executing it costs. Django turns psycopg's preparation off, so that connection
poolers keep working, and its cursors bind parameters on the client, which psycopg never prepares;
core.conf turns preparation on, and the lookup alone runs on a server-side-binding cursor. Behind PgBouncer
in transaction mode that needs PgBouncer 1.21 or newer with ``max_prepared_statements`` set (README).

Only the SQL text and how to read its row are kept; never a row. Every request reads the token's and
its owner's state afresh, so a token deleted, changed, expired, or an owner disabled or stripped of
the API module, is refused by every process at its next request.
"""

import functools

from django.db import connections
from django.db.models.query import get_related_populators

from accounts.selectors import with_api_module
from tokens.models import AccessToken

# The largest primary key a BigAutoField holds; the ORM answers "no such row" for any ID beyond it.
_MAX_ID = 2**63 - 1
# Stands for the token ID while the query is compiled; found again among the compiled parameters.
_STAND_IN = -(2**62) + 1809
# The attribute of a connection object that holds its compiled lookup. On the object itself, not in a
# WeakKeyDictionary: the lookup refers to its connection (compiler, converters), which would keep the
# dictionary's entry alive for ever; this way both go together when a thread's connection object does.
_ATTRIBUTE = "panel_token_lookup"


def token_queryset():
    """The queryset the SQL is compiled from: a token with its owner and ``owner_has_api_module``."""
    return with_api_module(AccessToken.objects.select_related("user")).order_by()


class _CompiledLookup:
    """The SQL of ``token_queryset().filter(pk=<id>)`` for one connection, and how to read its row."""

    def __init__(self, connection):
        query = token_queryset().filter(pk=_STAND_IN).query
        compiler = query.get_compiler(connection=connection)
        sql, params = compiler.as_sql()  # also fills compiler.select, klass_info and annotation_col_map
        params = list(params)
        if params.count(_STAND_IN) != 1:
            raise AssertionError("the token ID must appear once among the compiled parameters")
        self.sql, self.params, self.id_position = sql, params, params.index(_STAND_IN)
        self.compiler = compiler
        klass_info = compiler.klass_info
        self.model = klass_info["model"]
        first, last = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
        self.model_columns = slice(first, last)
        self.init_list = [column[0].target.attname for column in compiler.select[first:last]]
        self.related_populators = get_related_populators(klass_info, compiler.select, connection.alias)
        self.annotations = list(compiler.annotation_col_map.items())
        # What results_iter() would work out for every row: the converters of each column that has any.
        self.converters = compiler.get_converters([column[0] for column in compiler.select[: compiler.col_count]])

    def run(self, connection, token_id):
        params = list(self.params)
        params[self.id_position] = token_id
        with _lookup_cursor(connection) as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        if self.converters:
            row = next(self.compiler.apply_converters([row], self.converters))
        token = self.model.from_db(connection.alias, self.init_list, row[self.model_columns])
        for populator in self.related_populators:
            populator.populate(row, token)
        for name, position in self.annotations:
            setattr(token, name, row[position])
        return token


@functools.cache
def _prepared_lookup_cursor_class():
    """Django's server-side-binding psycopg cursor, remembering the query it runs prepared.

    Django's query log (``connection.queries``, the ``django.db.backends`` logger, the tests' query counts)
    reads the SQL back from the cursor's ``_query``, which psycopg sets for a query sent as text but not for
    one run prepared: the log would say None. Made at first use, so SQLite never imports the PostgreSQL
    backend."""
    from django.db.backends.postgresql.base import ServerBindingCursor

    class PreparedLookupCursor(ServerBindingCursor):
        def _send_query_prepared(self, name, pgq, **options):
            self._query = pgq
            return super()._send_query_prepared(name, pgq, **options)

    return PreparedLookupCursor


def _lookup_cursor(connection):
    """A cursor of ``connection`` for the lookup; on PostgreSQL one that binds on the server, which psycopg
    prepares the lookup on (core.conf sets its threshold).

    Wrapped like ``connection.cursor()``'s (database errors translated, the query logged where queries are),
    so the lookup still counts as the request's one query."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.close_if_health_check_failed()
    connection.ensure_connection()
    # The connection's adapters (its time zone's loader included) apply to every cursor made on it.
    cursor = _prepared_lookup_cursor_class()(connection.connection)
    return connection.make_debug_cursor(cursor) if connection.queries_logged else connection.make_cursor(cursor)


def compiled_lookup(using="default"):
    """The compiled lookup of the current connection to ``using``, compiled at its first use."""
    connection = connections[using]
    lookup = getattr(connection, _ATTRIBUTE, None)
    if lookup is None:
        lookup = _CompiledLookup(connection)
        setattr(connection, _ATTRIBUTE, lookup)
    return lookup


def token_with_owner(token_id, using="default"):
    """The token ``token_id`` with its ``user`` and ``owner_has_api_module``, read now in one query; None if
    there is none. What ``token_queryset().get(pk=token_id)`` returns, without building the query again."""
    if not 0 < token_id <= _MAX_ID:
        return None  # no such row can exist; the ORM would not ask the database either
    connection = connections[using]
    return compiled_lookup(using).run(connection, token_id)
