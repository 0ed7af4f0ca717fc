"""core.packed: columns sent as joined texts come out of PostgreSQL as the arrays would."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from core.packed import NULL, SEP, columns_pack, packed_sql

pytestmark = pytest.mark.django_db

SQL = (
    "SELECT * FROM unnest(%s::bigint[], %s::text[], %s::boolean[], %s::numeric[],"
    " %s::timestamptz[]) AS t(n, s, b, d, at)"
)
MOMENT = dt.datetime(2026, 12, 3, 17, 52, 36, 123456, tzinfo=dt.UTC)


def rows(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def test_every_kind_of_value_comes_back_as_the_arrays_give_it() -> None:
    columns = [
        [1, None, 3],
        ["", None, 'a,b {"q"}'],  # empty, NULL, and what array literals must quote
        [True, None, False],
        [Decimal("1.50"), None, Decimal("-0.0001")],
        [MOMENT, None, MOMENT + dt.timedelta(days=400)],
    ]
    packed = columns_pack(columns)
    assert packed is not None and len(packed) == 5
    assert rows(packed_sql(SQL), packed) == rows(SQL, columns)
    assert rows(packed_sql(SQL), packed)[0] == (1, "", True, Decimal("1.50"), MOMENT)


def test_a_lone_empty_text_is_one_element() -> None:
    packed = columns_pack([[7], [""], [False], [Decimal(0)], [MOMENT]])
    assert packed is not None
    assert rows(packed_sql(SQL), packed) == [(7, "", False, Decimal(0), MOMENT)]


@pytest.mark.parametrize("odd", [f"x{SEP}y", NULL, f"{NULL}z"])
def test_a_value_holding_a_separator_is_not_packed(odd: str) -> None:
    assert columns_pack([[1, 2], ["ok", odd]]) is None
