"""The dashboard's table helpers (reporting/tables.py)."""

from __future__ import annotations

from attribution.models import Conversion
from reporting.tables import Sort, orm_ordered


def order_sql(field: str, *, descending: bool) -> str:
    queryset = orm_ordered(Conversion.objects.all(), field, Sort(field, descending))
    return str(queryset.query).split("ORDER BY")[1]


def test_a_descending_order_puts_nulls_last_only_where_there_can_be_some() -> None:
    # NULLS LAST on a column that has none would keep PostgreSQL from reading the order
    # off an index (a CSV export would sort every row before sending the first).
    assert "NULLS LAST" not in order_sql("occurred_at", descending=True)
    assert "NULLS LAST" in order_sql("txn_id", descending=True)
    assert "NULLS LAST" in order_sql("offer__name", descending=True)  # no offer: a NULL name
    assert "NULLS" not in order_sql("txn_id", descending=False)  # ascending: last already
