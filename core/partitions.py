"""Time partitions of the append-only tables (PostgreSQL's declarative partitioning, by
month, UTC): which exist, creating the months a table will need, dropping the months nobody
keeps. The tables and their partition keys are listed in PARTITIONED; the migrations that
turn a table into a partitioned one and the maintenance task call these.

Names: `{table}_p{YYYYMM}` holds one month, `{table}_legacy` the rows the table had before
it was partitioned (MINVALUE up to the first month it was partitioned from), and
`{table}_default` whatever no month holds yet (kept empty by creating months ahead; a row
there is moved into its month when that month is created, never lost).

On SQLite (the embedded default) nothing is partitioned: every read answers as for an
unpartitioned table and every change does nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import connections, transaction

# table -> its partition key (a timestamptz column, part of every unique key). Each is
# partitioned by its app's migration (core.partitioning.table_partition) on PostgreSQL.
PARTITIONED: dict[str, str] = {
    "links_messageshortlinkclick": "clicked_at",
    "attribution_postbacklog": "received_at",
    "core_event": "created_at",
    "webhooks_webhookdelivery": "created_at",
}

# How far ahead and back partitions_maintain (the beat task) keeps months.
MONTHS_AHEAD = 3
MONTHS_BACK = 3

_BOUND = re.compile(r"FOR VALUES FROM \((?P<lower>[^)]*)\) TO \((?P<upper>[^)]*)\)")


@dataclass(frozen=True)
class Partition:
    name: str
    # None: MINVALUE (lower) or MAXVALUE (upper); both None for the default partition.
    lower: dt.datetime | None
    upper: dt.datetime | None
    is_default: bool = False

    def overlaps(self, lower: dt.datetime, upper: dt.datetime) -> bool:
        if self.is_default:
            return False
        return (self.lower is None or self.lower < upper) and (
            self.upper is None or lower < self.upper
        )


def month_start(moment: dt.datetime) -> dt.datetime:
    moment = moment.astimezone(dt.UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_after(month: dt.datetime) -> dt.datetime:
    return (month + dt.timedelta(days=32)).replace(day=1)


def month_name(table: str, month: dt.datetime) -> str:
    return f"{table}_p{month:%Y%m}"


def _bound(text: str) -> dt.datetime | None:
    text = text.strip()
    if text in ("MINVALUE", "MAXVALUE"):
        return None
    return dt.datetime.fromisoformat(text.strip("'")).astimezone(dt.UTC)


def _postgres(using: str) -> bool:
    return connections[using].vendor == "postgresql"


def is_partitioned(table: str, *, using: str = "default") -> bool:
    if not _postgres(using):
        return False
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid"
            " WHERE c.relname = %s AND pg_table_is_visible(c.oid)",
            [table],
        )
        return cursor.fetchone() is not None


def partitions(table: str, *, using: str = "default") -> list[Partition]:
    """The table's partitions, oldest first, the default partition last."""
    if not _postgres(using):
        return []
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)"
            " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class parent ON parent.oid = i.inhparent"
            " WHERE parent.relname = %s AND pg_table_is_visible(parent.oid)",
            [table],
        )
        rows = cursor.fetchall()
    found: list[Partition] = []
    for name, bound in rows:
        if bound == "DEFAULT":
            found.append(Partition(name, None, None, is_default=True))
            continue
        match = _BOUND.search(bound)
        if match is None:  # not a range partition: not one of ours
            continue
        found.append(Partition(name, _bound(match["lower"]), _bound(match["upper"])))
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    return sorted(found, key=lambda p: (p.is_default, p.lower or epoch))


def partitions_ensure(
    table: str,
    *,
    start: dt.datetime,
    end: dt.datetime,
    column: str | None = None,
    using: str = "default",
) -> list[str]:
    """Create the month partitions of `table` covering start..end that no partition covers
    yet; rows the default partition holds for such a month move into it. Returns the names
    created. Does nothing for a table that is not partitioned. `column`: its partition key,
    when not (yet) the one PARTITIONED names (a migration)."""
    if not is_partitioned(table, using=using):
        return []
    column = column or PARTITIONED[table]
    created: list[str] = []
    connection = connections[using]
    with transaction.atomic(using=using), connection.cursor() as cursor:
        # Two maintenance runs at once (beat and a deploy's migrate) would both see a month
        # missing and the second CREATE would fail on the overlap: one at a time per table.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"partitions:{table}"])
        # A partition with deferred foreign-key checks pending (rows written earlier in this
        # transaction) can be neither detached nor dropped: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        existing = partitions(table, using=using)
        default = next((p.name for p in existing if p.is_default), None)
        month = month_start(start)
        while month < end:
            upper = month_after(month)
            if not any(p.overlaps(month, upper) for p in existing):
                name = month_name(table, month)
                created.append(name)
                _month_create(cursor, table, column, name, month, upper, default)
            month = upper
    return created


def _month_create(
    cursor,
    table: str,
    column: str,
    name: str,
    lower: dt.datetime,
    upper: dt.datetime,
    default: str | None,
) -> None:
    qn = connections["default"].ops.quote_name
    strays = False
    if default is not None:
        cursor.execute(
            # Names quoted, from the catalog and PARTITIONED; values bound.
            f"SELECT EXISTS (SELECT 1 FROM {qn(default)} WHERE {qn(column)} >= %s"  # noqa: S608
            f" AND {qn(column)} < %s)",
            [lower, upper],
        )
        strays = cursor.fetchone()[0]
    if not strays:
        cursor.execute(
            f"CREATE TABLE {qn(name)} PARTITION OF {qn(table)} FOR VALUES FROM (%s) TO (%s)",
            [lower, upper],
        )
        return
    # The default partition holds rows of this month: creating the month beside it would
    # violate the default's constraint, so the default steps out while its rows move.
    cursor.execute(f"ALTER TABLE {qn(table)} DETACH PARTITION {qn(default)}")
    cursor.execute(
        f"CREATE TABLE {qn(name)} PARTITION OF {qn(table)} FOR VALUES FROM (%s) TO (%s)",
        [lower, upper],
    )
    cursor.execute(
        f"WITH moved AS (DELETE FROM {qn(default)} WHERE {qn(column)} >= %s"  # noqa: S608
        f" AND {qn(column)} < %s RETURNING *) INSERT INTO {qn(name)} SELECT * FROM moved",
        [lower, upper],
    )
    cursor.execute(f"ALTER TABLE {qn(table)} ATTACH PARTITION {qn(default)} DEFAULT")


def partitions_drop_before(table: str, cutoff: dt.datetime, *, using: str = "default") -> list[str]:
    """Drop the partitions of `table` that hold only rows older than `cutoff` (their upper
    bound at or before it), never the default partition. Returns the names dropped."""
    if not is_partitioned(table, using=using):
        return []
    qn = connections[using].ops.quote_name
    dropped: list[str] = []
    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"partitions:{table}"])
        # A partition with deferred foreign-key checks pending (rows written earlier in this
        # transaction) can be neither detached nor dropped: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for partition in partitions(table, using=using):
            if partition.is_default or partition.upper is None or partition.upper > cutoff:
                continue
            cursor.execute(f"ALTER TABLE {qn(table)} DETACH PARTITION {qn(partition.name)}")
            cursor.execute(f"DROP TABLE {qn(partition.name)}")
            dropped.append(partition.name)
    return dropped


def partitions_maintain(
    *, now: dt.datetime | None = None, using: str = "default"
) -> dict[str, list[str]]:
    """The months every partitioned table needs around `now`: MONTHS_BACK months back (a
    click or a postback dated days back lands in its month) to MONTHS_AHEAD ahead, each
    moving what the default partition caught for it. Run by the beat task and
    `python manage.py partitions_maintain`. Returns the partitions created per table."""
    now = now or dt.datetime.now(dt.UTC)
    start = month_start(now)
    for _ in range(MONTHS_BACK):
        start = month_start(start - dt.timedelta(days=1))
    end = month_start(now)
    for _ in range(MONTHS_AHEAD + 1):
        end = month_after(end)
    return {
        table: partitions_ensure(table, start=start, end=end, using=using) for table in PARTITIONED
    }
