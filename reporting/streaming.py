"""Reading a query as an export sends it: in its order, a chunk at a time, from the first
row at once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import QuerySet


def streamed(queryset: QuerySet, *, chunk_size: int = 2000) -> Iterator[Any]:
    """Every row of a queryset in its order, read a chunk at a time, for exports that
    start answering before the query has run to its end.

    On PostgreSQL .iterator() reads through a server-side cursor. Outside a transaction
    Django declares it WITH HOLD, and PostgreSQL then runs the whole query, keeping every
    row, before the first comes back (seconds at a million rows). Inside one it runs the
    plan only as far as it is read, and plans for the first rows: an export in index order
    starts at once. The transaction, which only reads, lasts as long as the download (a
    client that goes away closes the generator, which rolls it back).
    """
    if connections[queryset.db].vendor != "postgresql":
        # SQLite's transactions here are IMMEDIATE: one would hold off every writer.
        yield from queryset.iterator(chunk_size=chunk_size)
        return
    with transaction.atomic(using=queryset.db):
        # A stalled client must not hold the snapshot (and its locks, which a migration
        # would queue behind) for ever: PostgreSQL ends the transaction after this long
        # idle between reads, and the download is cut off.
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(
                "SELECT set_config('idle_in_transaction_session_timeout', %s, true)",
                [f"{settings.EXPORT_IDLE_SECONDS}s"],
            )
        yield from queryset.iterator(chunk_size=chunk_size)
