"""Turning an existing table into a partitioned one (PostgreSQL), the step a migration runs:
the table becomes the `{table}_legacy` partition of a new range-partitioned `{table}` without
being rewritten, and the months around now are created (core.partitions).

How, in the migration's one transaction:
- the table is renamed `{table}_legacy`; its indexes and unique and primary-key constraints
  are renamed beside it (index names are per schema) and made again, under their old names,
  on the new parent, which ATTACH then matches with the legacy ones (no index is rebuilt,
  except the primary key's: it becomes (id, time), one index build, no table rewrite);
- a CHECK (time < cutover) is added NOT VALID and then VALIDATEd (a scan under a lock that
  lets reads and writes go on), so ATTACH ... FOR VALUES FROM (MINVALUE) TO (cutover) trusts
  it instead of scanning again under its exclusive lock;
- the id sequence moves to the parent (PostgreSQL 15 allows no identity column on a
  partitioned table: a sequence owned by the parent's id, continuing where the identity was);
- foreign keys out of the table and its triggers move to the parent (a statement trigger on
  a partition would not fire for rows written through the parent);
- a default partition, and months from the cutover to `months_ahead` months past now.

The cutover is the first month after the newest row (and after now): rows keep arriving in
the legacy partition until then. A table with no rows yet starts `months_back` months ago, so
the recent past has months of its own (a fresh install, the test database).

Foreign keys into the table must be gone first (a partitioned table's keys include its time):
a migration makes them db_constraint=False before it calls this.
"""

from __future__ import annotations

import datetime as dt
import re

from django.utils import timezone

from core import partitions

_ON_TABLE = re.compile(r" ON (ONLY )?\S+ USING ")
_TRIGGER_ON = re.compile(r" ON \S+ ")


def _months_before(month: dt.datetime, count: int) -> dt.datetime:
    for _ in range(count):
        month = partitions.month_start(month - dt.timedelta(days=1))
    return month


def _months_after(month: dt.datetime, count: int) -> dt.datetime:
    for _ in range(count):
        month = partitions.month_after(month)
    return month


def _legacy_name(name: str) -> str:
    return f"{name[:56]}_legacy"


def table_partition(
    schema_editor,
    table: str,
    column: str,
    *,
    months_ahead: int = 3,
    months_back: int = 3,
    now: dt.datetime | None = None,
) -> None:
    """Partition `table` by month of `column` (a NOT NULL timestamptz). Does nothing on
    SQLite or for a table already partitioned."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or partitions.is_partitioned(
        table, using=connection.alias
    ):
        return
    now = now or timezone.now()
    qn = connection.ops.quote_name
    legacy = f"{table}_legacy"
    with connection.cursor() as cursor:

        def run(statement: str, params: list | None = None) -> None:
            cursor.execute(statement, params)

        # Deferred foreign-key checks of rows written earlier in the transaction must run
        # before the table can be altered.
        run("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint"
            " WHERE contype = 'f' AND confrelid = %s::regclass",
            [table],
        )
        incoming = cursor.fetchall()
        if incoming:
            raise RuntimeError(
                f"{table} cannot be partitioned while foreign keys point into it: {incoming}"
            )
        cursor.execute(f"SELECT max({qn(column)}) FROM {qn(table)}")  # noqa: S608 - names
        newest = cursor.fetchone()[0]
        if newest is None:
            cutover = _months_before(partitions.month_start(now), months_back)
        else:
            cutover = partitions.month_after(partitions.month_start(max(newest, now)))

        run(f"ALTER TABLE {qn(table)} RENAME TO {qn(legacy)}")

        # The id's sequence: the identity's value, kept in a plain sequence.
        cursor.execute("SELECT attidentity FROM pg_attribute WHERE attrelid = %s::regclass"
                       " AND attname = 'id'", [legacy])  # fmt: skip
        identity = cursor.fetchone()[0] != ""
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [legacy])
        sequence = cursor.fetchone()[0]
        if identity:
            cursor.execute(f"SELECT last_value, is_called FROM {sequence}")  # noqa: S608
            last_value, is_called = cursor.fetchone()
            run(f"ALTER TABLE {qn(legacy)} ALTER COLUMN id DROP IDENTITY")
            sequence = qn(f"{table}_id_seq")
            run(f"CREATE SEQUENCE {sequence}")
            run("SELECT setval(%s, %s, %s)", [sequence, last_value, is_called])
        else:
            run(f"ALTER TABLE {qn(legacy)} ALTER COLUMN id DROP DEFAULT")

        # What the parent must have, read before anything is renamed.
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') ORDER BY conname",
            [legacy],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x"
            " JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid"
            " AND c.contype IN ('p', 'u', 'x')) ORDER BY i.relname",
            [legacy],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger"
            " WHERE tgrelid = %s::regclass AND NOT tgisinternal ORDER BY tgname",
            [legacy],
        )
        triggers = cursor.fetchall()

        run(
            f"CREATE TABLE {qn(table)} (LIKE {qn(legacy)} INCLUDING DEFAULTS"
            " INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)"
            f" PARTITION BY RANGE ({qn(column)})"
        )
        run(f"ALTER TABLE {qn(table)} ALTER COLUMN id SET DEFAULT nextval('{sequence}')")
        run(f"ALTER SEQUENCE {sequence} OWNED BY {qn(table)}.id")

        for name, kind, definition in constraints:
            if kind == "p":
                # The primary key becomes (id, time), on the legacy table first.
                new_key = qn(_legacy_name(f"{table}_pkey"))
                run(f"ALTER TABLE {qn(legacy)} DROP CONSTRAINT {qn(name)}")
                run(f"CREATE UNIQUE INDEX {new_key} ON {qn(legacy)} (id, {qn(column)})")
                run(f"ALTER TABLE {qn(legacy)} ADD CONSTRAINT {new_key} PRIMARY KEY USING INDEX"
                    f" {new_key}")  # fmt: skip
                run(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)}"
                    f" PRIMARY KEY (id, {qn(column)})")  # fmt: skip
            elif kind == "u":
                if column not in definition:
                    raise RuntimeError(f"{table}.{name} is unique without {column}: {definition}")
                run(f"ALTER TABLE {qn(legacy)} RENAME CONSTRAINT {qn(name)}"
                    f" TO {qn(_legacy_name(name))}")  # fmt: skip
                run(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")
            else:  # a foreign key out of the table: the parent has it too (no rows to check)
                run(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")
        for name, definition in indexes:
            if definition.startswith("CREATE UNIQUE") and column not in definition:
                raise RuntimeError(f"{table}.{name} is unique without {column}: {definition}")
            run(f"ALTER INDEX {qn(name)} RENAME TO {qn(_legacy_name(name))}")
            run(_ON_TABLE.sub(f" ON {qn(table)} USING ", definition, count=1))
        for name, _ in triggers:
            run(f"DROP TRIGGER {qn(name)} ON {qn(legacy)}")

        check = qn(_legacy_name(f"{table}_cutover"))
        run(f"ALTER TABLE {qn(legacy)} ADD CONSTRAINT {check} CHECK ({qn(column)} < %s)"
            " NOT VALID", [cutover])  # fmt: skip
        run(f"ALTER TABLE {qn(legacy)} VALIDATE CONSTRAINT {check}")
        run(f"ALTER TABLE {qn(table)} ATTACH PARTITION {qn(legacy)}"
            " FOR VALUES FROM (MINVALUE) TO (%s)", [cutover])  # fmt: skip
        # Implied by the partition bound now; kept would only cost a check per row written.
        run(f"ALTER TABLE {qn(legacy)} DROP CONSTRAINT {check}")
        run(f"CREATE TABLE {qn(f'{table}_default')} PARTITION OF {qn(table)} DEFAULT")
        for _, definition in triggers:
            run(_TRIGGER_ON.sub(f" ON {qn(table)} ", definition, count=1))

    partitions.partitions_ensure(
        table,
        start=cutover,
        end=_months_after(partitions.month_start(now), months_ahead + 1),
        column=column,
        using=connection.alias,
    )


def table_unpartition(schema_editor, table: str) -> None:
    """The way back (a migration reversed): `table` as one plain table again, its rows
    copied from every partition, primary key (id), the same indexes, constraints, triggers
    and id sequence. A rewrite: for going back in development, not for production data."""
    connection = schema_editor.connection
    if connection.vendor != "postgresql" or not partitions.is_partitioned(
        table, using=connection.alias
    ):
        return
    qn = connection.ops.quote_name
    old = f"{table}_partitioned"
    with connection.cursor() as cursor:

        def run(statement: str, params: list | None = None) -> None:
            cursor.execute(statement, params)

        run("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        sequence = cursor.fetchone()[0]
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype IN ('p', 'u', 'f') ORDER BY conname",
            [table],
        )
        constraints = cursor.fetchall()
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x"
            " JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid"
            " AND c.contype IN ('p', 'u', 'x')) ORDER BY i.relname",
            [table],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger"
            " WHERE tgrelid = %s::regclass AND NOT tgisinternal AND tgparentid = 0",
            [table],
        )
        triggers = cursor.fetchall()
        run(f"ALTER TABLE {qn(table)} RENAME TO {qn(old)}")
        run(f"ALTER TABLE {qn(old)} ALTER COLUMN id DROP DEFAULT")
        for name, kind, _ in constraints:
            if kind in ("p", "u"):
                run(f"ALTER TABLE {qn(old)} RENAME CONSTRAINT {qn(name)} TO {qn(name + '_p')}")
        for name, _ in indexes:
            run(f"ALTER INDEX {qn(name)} RENAME TO {qn(name + '_p')}")
        run(
            f"CREATE TABLE {qn(table)} (LIKE {qn(old)} INCLUDING DEFAULTS"
            " INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)"
        )
        run(f"INSERT INTO {qn(table)} SELECT * FROM {qn(old)}")  # noqa: S608 - names
        run(f"ALTER TABLE {qn(table)} ALTER COLUMN id SET DEFAULT nextval('{sequence}')")
        run(f"ALTER SEQUENCE {sequence} OWNED BY {qn(table)}.id")
        for name, kind, definition in constraints:
            if kind == "p":
                run(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} PRIMARY KEY (id)")
            else:
                run(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")
        for _, definition in indexes:
            run(_ON_TABLE.sub(f" ON {qn(table)} USING ", definition, count=1))
        for _, definition in triggers:
            run(_TRIGGER_ON.sub(f" ON {qn(table)} ", definition, count=1))
        run(f"DROP TABLE {qn(old)} CASCADE")
