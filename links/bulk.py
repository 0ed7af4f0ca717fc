"""Fast multi-row inserts for minting.

On PostgreSQL a batch goes in as one `INSERT ... SELECT FROM unnest(arrays)` statement:
ten array parameters instead of ten parameters per row, and no model instances; each
array travels as one joined text (core.packed) unless a value holds its separators. Ids are
taken from the table's sequence first, so they are known without relying on RETURNING
order. Elsewhere (the embedded SQLite default) the same rows go through bulk_create.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

from core.packed import columns_pack, packed_sql

PG_TYPES = {
    "BigAutoField": "bigint",
    "ForeignKey": "bigint",
    "CharField": "text",
    "TextField": "text",
    "URLField": "text",
    "EmailField": "text",
    "DateTimeField": "timestamptz",
    "PositiveSmallIntegerField": "integer",
    "BooleanField": "boolean",
    "DecimalField": "numeric",
}


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    on_conflict_do_nothing: bool = False,
) -> None:
    """Insert rows (tuples in `fields` order, attnames such as `account_id`) on PostgreSQL."""
    if not rows:
        return
    opts = model._meta
    columns, casts = [], []
    for name in fields:
        field = opts.get_field(name)  # attnames such as account_id resolve too
        columns.append(field.column)
        casts.append(PG_TYPES[field.get_internal_type()])
    arrays = [list(col) for col in zip(*rows, strict=True)]
    packed = columns_pack(arrays)
    unnest = ", ".join(f"%s::{cast}[]" for cast in casts)
    column_list = ", ".join(f'"{c}"' for c in columns)
    # Table and column names come from the model's own meta, never from input.
    sql = f'INSERT INTO "{opts.db_table}" ({column_list}) SELECT * FROM unnest({unnest})'  # noqa: S608
    if on_conflict_do_nothing:
        sql += " ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        if packed is None:
            cursor.execute(sql, arrays)
        else:
            cursor.execute(packed_sql(sql), packed)


def values_in(queryset: models.QuerySet, field: str, values: Sequence[Any]) -> models.QuerySet:
    """`queryset.filter(field__in=values)`, sent as one array parameter on PostgreSQL.

    Django spells `__in` as one placeholder per value; 20,000 of them cost more to send
    than the query costs to run.
    """
    if is_postgres():
        column = queryset.model._meta.get_field(field).column
        table = queryset.model._meta.db_table
        return queryset.extra(where=[f'"{table}"."{column}" = ANY(%s)'], params=[list(values)])  # noqa: S610
    return queryset.filter(**{f"{field}__in": values})
