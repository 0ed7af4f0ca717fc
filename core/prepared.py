"""One row from a hot-path SQL statement: prepared on PostgreSQL, Django's cursor elsewhere.

Django keeps psycopg's prepared statements off (prepare_threshold None) and binds its own
queries client-side. The few statements that run on every postback or cold redirect
(attribution.fastpath, links.resolve) are prepared explicitly instead, so each connection
prepares them once and PostgreSQL plans them once: planning was most of their cost. Same
connection and transaction state as Django's cursors. Behind a pooler in transaction mode
that cannot keep prepared statements (PgBouncer before 1.21), set PREPARED_STATEMENTS=false.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.conf import settings
from django.db import DatabaseError, OperationalError, connection

# Only what `fetchone` asks for explicitly is prepared; nothing else reaches this threshold.
_NEVER_AUTOMATICALLY = 1_000_000_000
# A statement this connection prepared that PostgreSQL will no longer run: a migration
# changed a column it returns ("cached plan must not change result type", 0A000), or a
# pooler dropped it (26000).
_STALE = frozenset({"0A000", "26000"})


def fetchone(sql: str, params: Any, *, reconnect: bool = False) -> tuple[Any, ...] | None:
    """The statement's first row. `%s` placeholders (or `%(name)s` with a dict).

    With `reconnect`, a statement that is the first of its request: these skip Django's
    per-request health check (a SELECT 1 each time), so a persistent connection that died
    since the last request (PostgreSQL restarted) fails here; outside a transaction it is
    then run once more on a new connection. Only for a statement that is safe to repeat.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    try:
        return _prepared(sql, params)
    except DatabaseError as exc:
        # Race: a release's migration altered a table while this connection held the
        # statement. A new connection prepares it afresh.
        stale = getattr(exc.__cause__, "sqlstate", None) in _STALE
        if not (stale or (reconnect and isinstance(exc, OperationalError))):
            raise
        if connection.in_atomic_block:
            if stale:  # the error aborted the transaction: close at the end of the request
                connection.close_at = 0.0
            raise
        connection.close()
        return _prepared(sql, params)


def fetchall(sql: str, params: Any) -> list[tuple[Any, ...]]:
    """Every row of the statement, prepared as `fetchone` prepares it (for a statement run
    often enough that its planning counts: minting's cache writes, links.resolve)."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    try:
        return _prepared(sql, params, many=True)
    except DatabaseError as exc:
        # As in fetchone: a statement a migration made stale is prepared again.
        if getattr(exc.__cause__, "sqlstate", None) not in _STALE:
            raise
        if connection.in_atomic_block:
            connection.close_at = 0.0
            raise
        connection.close()
        return _prepared(sql, params, many=True)


def _prepared(sql: str, params: Any, *, many: bool = False) -> Any:
    prepare = settings.PREPARED_STATEMENTS
    # Django's error wrapper: a failure marks the connection, so a broken one is closed at
    # the end of the request, and errors are django.db's own.
    with connection.wrap_database_errors:
        connection.ensure_connection()
        raw = connection.connection
        if prepare and raw.prepare_threshold is None:
            raw.prepare_threshold = _NEVER_AUTOMATICALLY
        with psycopg.Cursor(raw) as cursor:
            cursor.execute(sql, params, prepare=prepare)
            return cursor.fetchall() if many else cursor.fetchone()
