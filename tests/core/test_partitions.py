"""core.partitions on a scratch partitioned table in the test database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from core import partitions

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture
def scratch(monkeypatch):
    monkeypatch.setitem(partitions.PARTITIONED, "scratch_hits", "at")
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE scratch_hits (id bigint, at timestamptz NOT NULL,"
            " PRIMARY KEY (id, at)) PARTITION BY RANGE (at)"
        )
        cursor.execute(
            "CREATE TABLE scratch_hits_legacy PARTITION OF scratch_hits"
            " FOR VALUES FROM (MINVALUE) TO ('2026-10-01 00:00+00')"
        )
        cursor.execute("CREATE TABLE scratch_hits_default PARTITION OF scratch_hits DEFAULT")
    return "scratch_hits"


def _insert(at: dt.datetime, id_: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO scratch_hits (id, at) VALUES (%s, %s)", [id_, at])


def _where(id_: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM scratch_hits WHERE id = %s", [id_])
        return cursor.fetchone()[0]


def test_it_creates_the_missing_months_and_keeps_the_legacy_one(scratch):
    created = partitions.partitions_ensure(
        scratch,
        start=dt.datetime(2026, 9, 15, tzinfo=UTC),
        end=dt.datetime(2026, 12, 2, tzinfo=UTC),
    )
    assert created == ["scratch_hits_p202610", "scratch_hits_p202611", "scratch_hits_p202612"]
    names = [p.name for p in partitions.partitions(scratch)]
    assert names == ["scratch_hits_legacy", *created, "scratch_hits_default"]
    legacy = partitions.partitions(scratch)[0]
    assert legacy.lower is None and legacy.upper == dt.datetime(2026, 10, 1, tzinfo=UTC)
    # A second run finds nothing to do.
    assert (
        partitions.partitions_ensure(
            scratch,
            start=dt.datetime(2026, 9, 1, tzinfo=UTC),
            end=dt.datetime(2026, 12, 2, tzinfo=UTC),
        )
        == []
    )
    _insert(dt.datetime(2026, 11, 3, 12, tzinfo=UTC), 1)
    assert _where(1) == "scratch_hits_p202611"


def test_rows_the_default_partition_caught_move_into_their_month(scratch):
    _insert(dt.datetime(2027, 1, 5, tzinfo=UTC), 7)
    assert _where(7) == "scratch_hits_default"
    partitions.partitions_ensure(
        scratch, start=dt.datetime(2027, 1, 1, tzinfo=UTC), end=dt.datetime(2027, 1, 2, tzinfo=UTC)
    )
    assert _where(7) == "scratch_hits_p202701"
    assert [p.is_default for p in partitions.partitions(scratch)][-1] is True


def test_it_drops_only_the_partitions_wholly_before_the_cutoff(scratch):
    partitions.partitions_ensure(
        scratch,
        start=dt.datetime(2026, 10, 1, tzinfo=UTC),
        end=dt.datetime(2026, 12, 1, tzinfo=UTC),
    )
    _insert(dt.datetime(2026, 10, 20, tzinfo=UTC), 1)
    _insert(dt.datetime(2026, 11, 20, tzinfo=UTC), 2)
    dropped = partitions.partitions_drop_before(scratch, dt.datetime(2026, 11, 15, tzinfo=UTC))
    assert dropped == ["scratch_hits_legacy", "scratch_hits_p202610"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM scratch_hits")
        assert cursor.fetchall() == [(2,)]


def test_an_unpartitioned_table_is_left_alone():
    assert partitions.partitions("core_account") == []
    assert partitions.partitions_drop_before("core_account", dt.datetime.now(UTC)) == []
