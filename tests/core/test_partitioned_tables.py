"""The append-only tables partitioned by month on PostgreSQL (core.partitioning, the
migrations links 0013, attribution 0010, webhooks 0002, core 0010): after migrate they are
partitioned; a click dated days back lands in its month; deduplication by click id holds; a
lookup by click id reads one partition by index; rows of the legacy partition stay readable;
retention drops a month once every account is past it; the conversion of a table with rows
keeps them, its indexes (not rebuilt), its sequence and its triggers."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import partitions
from core.models import Account
from core.partitioning import table_partition, table_unpartition
from links import ids
from links.click_stream import ClickEvent, publish
from links.click_writer import ClickConsumer, clicks_write
from links.models import MessageShortLink, MessageShortLinkClick
from links.selectors import click_by_id
from reporting.retention import retention_apply
from tests.helpers import BROWSER, click_stored

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def where(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])  # noqa: S608
        return cursor.fetchone()[0]


def mid_month(months_back: int) -> dt.datetime:
    """The 10th, noon, `months_back` months before this one (so the id's one-day window
    stays inside the month)."""
    month = partitions.month_start(dt.datetime.now(UTC))
    for _ in range(months_back):
        month = partitions.month_start(month - dt.timedelta(days=1))
    return month.replace(day=10, hour=12)


@pytest.fixture
def link(owner: Any) -> MessageShortLink:
    data = owner.mint(body="{{l}}", links={"l": {"url": "https://shop.example/p"}})
    return MessageShortLink.objects.get(link_id=data["links"][0]["link_id"])


def click_event(link: MessageShortLink, at: dt.datetime, click_id: str | None = None) -> Any:
    return ClickEvent(
        click_id=click_id or ids.new_click_id(at), link_id=link.link_id,
        account_id=link.account_id, clicked_at=at, ip="203.0.113.9", user_agent=BROWSER,
        referer="", accept_language="", method="GET",
    )  # fmt: skip


def test_the_four_tables_are_partitioned_by_their_time() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, a.attname FROM pg_partitioned_table p"
            " JOIN pg_class c ON c.oid = p.partrelid"
            " JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]"
            " WHERE p.partstrat = 'r'"
        )
        found = dict(cursor.fetchall())
    assert {t: found.get(t) for t in partitions.PARTITIONED} == partitions.PARTITIONED
    for table in partitions.PARTITIONED:
        names = [p.name for p in partitions.partitions(table)]
        assert names[0] == f"{table}_legacy" and names[-1] == f"{table}_default"
        # Months ahead exist: a clock a little ahead never lands in the default partition.
        ahead = partitions.month_name(
            table, partitions.month_after(partitions.month_start(dt.datetime.now(UTC)))
        )
        assert ahead in names
        # The primary key is (id, time); Django's pk stays id.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = %s::regclass AND contype = 'p'",
                [table],
            )
            assert cursor.fetchone()[0] == f"PRIMARY KEY (id, {partitions.PARTITIONED[table]})"


def test_a_click_dated_four_days_back_lands_in_its_month(
    link: MessageShortLink, click_stream: Any
) -> None:
    at = dt.datetime.now(UTC) - dt.timedelta(days=4)
    event = click_event(link, at)
    assert publish(event)
    [result] = ClickConsumer(click_stream).drain()
    assert result.stored == 1
    click = MessageShortLinkClick.objects.get(click_id=event.click_id)
    assert click.clicked_at == at
    assert where(MessageShortLinkClick._meta.db_table, click.pk) == partitions.month_name(
        MessageShortLinkClick._meta.db_table, partitions.month_start(at)
    )


def test_a_repeated_click_id_is_stored_once(link: MessageShortLink, click_stream: Any) -> None:
    at = dt.datetime.now(UTC) - dt.timedelta(days=4)
    event = click_event(link, at)
    # The same entry twice in the stream (a consumer presumed dead), and the batch again.
    publish(event)
    publish(event)
    results = ClickConsumer(click_stream).drain()
    assert sum(r.stored for r in results) == 1
    assert clicks_write([event]) == (0, 0)
    assert MessageShortLinkClick.objects.filter(click_id=event.click_id).count() == 1


def test_a_lookup_by_click_id_is_a_one_partition_index_scan(link: MessageShortLink) -> None:
    stored = click_stored(link, mid_month(1))
    click_stored(link, mid_month(2))  # another month: its partition is not read
    with CaptureQueriesContext(connection) as queries:
        assert click_by_id(MessageShortLinkClick.objects.all(), stored.click_id) == stored
    [query] = queries.captured_queries
    with connection.cursor() as cursor:
        # Tiny tables: a sequential scan would be as cheap; the plan shape is the point.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + query["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    table = MessageShortLinkClick._meta.db_table
    scanned = set(re.findall(rf" on ({table}_\w+)", plan))
    assert scanned == {partitions.month_name(table, partitions.month_start(stored.clicked_at))}, (
        plan
    )
    assert "Index Scan" in plan or "Index Only Scan" in plan, plan
    assert "Seq Scan" not in plan, plan


def test_rows_of_the_legacy_partition_are_still_read(link: MessageShortLink) -> None:
    table = MessageShortLinkClick._meta.db_table
    legacy = partitions.partitions(table)[0]
    old = click_stored(link, legacy.upper - dt.timedelta(days=200))
    assert where(table, old.pk) == f"{table}_legacy"
    assert click_by_id(MessageShortLinkClick.objects.all(), old.click_id) == old
    assert list(MessageShortLinkClick.objects.filter(short_link=link)) == [old]


def test_retention_drops_a_month_once_every_account_is_past_it(
    link: MessageShortLink, make_account: Any
) -> None:
    table = MessageShortLinkClick._meta.db_table
    old_at, kept_at = mid_month(2), mid_month(0)
    old, kept = click_stored(link, old_at), click_stored(link, kept_at)
    old_month = partitions.month_name(table, partitions.month_start(old_at))
    other = make_account("Other Co", host="go.other.example")
    # The day after the old month ends, shifted by the retention: the owner is past it.
    days = 30
    now = partitions.month_after(partitions.month_start(old_at)) + dt.timedelta(days=days + 2)
    Account.objects.update(data_retention_days=days, default_click_window_days=days)
    Account.objects.filter(pk=other.account.pk).update(data_retention_days=400)
    summary = retention_apply(now=now)
    assert old_month not in summary[table].partitions  # the other account still needs it
    assert old_month in [p.name for p in partitions.partitions(table)]
    Account.objects.filter(pk=other.account.pk).update(data_retention_days=days)
    summary = retention_apply(now=now)
    assert old_month in summary[table].partitions
    assert old_month not in [p.name for p in partitions.partitions(table)]
    assert not MessageShortLinkClick.objects.filter(pk=old.pk).exists()
    assert MessageShortLinkClick.objects.filter(pk=kept.pk).exists()


def test_partitions_maintain_makes_the_months_and_moves_the_default_strays(
    link: MessageShortLink,
) -> None:
    table = MessageShortLinkClick._meta.db_table
    far = partitions.month_start(dt.datetime.now(UTC) + dt.timedelta(days=400))
    stray = click_stored(link, far.replace(day=3))
    assert where(table, stray.pk) == f"{table}_default"
    created = partitions.partitions_maintain(now=far)
    assert partitions.month_name(table, far) in created[table]
    assert where(table, stray.pk) == partitions.month_name(table, far)
    out = io.StringIO()
    call_command("partitions_maintain", stdout=out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert {r["table"] for r in rows} == set(partitions.PARTITIONED)


def test_a_table_with_rows_becomes_a_partition_without_losing_anything() -> None:
    """table_partition on a scratch table shaped like ours: rows, an identity id, a unique
    key with the time, indexes, a foreign key out and a statement trigger."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE scratch_log (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
            " code varchar(16) NOT NULL, at timestamptz NOT NULL,"
            " account_id bigint NOT NULL REFERENCES trackly_account (id) DEFERRABLE INITIALLY"
            " DEFERRED, CONSTRAINT scratch_unique UNIQUE (code, at))"
        )
        cursor.execute("CREATE INDEX scratch_account_at ON scratch_log (account_id, at)")
        cursor.execute("CREATE TABLE scratch_seen (n bigint)")
        cursor.execute(
            "CREATE FUNCTION scratch_count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " INSERT INTO scratch_seen SELECT count(*) FROM new_rows; RETURN NULL; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER scratch_seen AFTER INSERT ON scratch_log REFERENCING NEW TABLE"
            " AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION scratch_count()"
        )
        account = Account.objects.create(name="Scratch Co").pk
        now = dt.datetime(2026, 12, 3, 12, tzinfo=UTC)
        cursor.execute(
            "INSERT INTO scratch_log (code, at, account_id) VALUES ('a', %s, %s), ('b', %s, %s)",
            [now - dt.timedelta(days=400), account, now, account],
        )
        cursor.execute(
            "SELECT indexrelid FROM pg_index WHERE indrelid = 'scratch_log'::regclass"
            " AND indexrelid::regclass::text IN ('scratch_unique', 'scratch_account_at')"
        )
        index_ids = sorted(row[0] for row in cursor.fetchall())

        with connection.schema_editor(atomic=False) as editor:
            table_partition(editor, "scratch_log", "at", now=now)

        names = [p.name for p in partitions.partitions("scratch_log")]
        assert names == [
            "scratch_log_legacy", "scratch_log_p202701", "scratch_log_p202702",
            "scratch_log_p202703", "scratch_log_default",
        ]  # fmt: skip
        # The legacy partition runs to the month after the newest row; its indexes are the
        # ones it had (attached, not rebuilt).
        assert partitions.partitions("scratch_log")[0].upper == dt.datetime(2027, 1, 1, tzinfo=UTC)
        cursor.execute(
            "SELECT indexrelid FROM pg_index WHERE indrelid = 'scratch_log_legacy'::regclass"
            " AND NOT indisprimary"
        )
        assert sorted(row[0] for row in cursor.fetchall()) == index_ids
        cursor.execute("SELECT code FROM scratch_log ORDER BY id")
        assert [row[0] for row in cursor.fetchall()] == ["a", "b"]
        # The sequence goes on; the key with the time still refuses a copy; the trigger
        # fires for rows written through the parent into a new month.
        cursor.execute(
            "INSERT INTO scratch_log (code, at, account_id) VALUES ('c', '2027-02-02', %s)"
            " RETURNING id, tableoid::regclass::text",
            [account],
        )
        assert cursor.fetchone() == (3, "scratch_log_p202702")
        cursor.execute(
            "INSERT INTO scratch_log (code, at, account_id) VALUES ('c', '2027-02-02', %s)"
            " ON CONFLICT (code, at) DO NOTHING",
            [account],
        )
        assert cursor.rowcount == 0
        # The statement trigger, now on the parent: 2 rows before, then 1 and 0 after.
        cursor.execute("SELECT n FROM scratch_seen")
        assert sorted(row[0] for row in cursor.fetchall()) == [0, 1, 2]

        with connection.schema_editor(atomic=False) as editor:
            table_unpartition(editor, "scratch_log")
        assert not partitions.is_partitioned("scratch_log")
        cursor.execute("SELECT code FROM scratch_log ORDER BY id")
        assert [row[0] for row in cursor.fetchall()] == ["a", "b", "c"]
