"""PostgreSQL bulk loading: binary COPY, explicit ids, indexes built once at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg import sql
from psycopg.types.net import InetBinaryDumper

from core import partitions


@contextmanager
def copy_rows(
    cursor: Any, table: str, columns: Sequence[str]
) -> Iterator[Callable[[Sequence[Any]], None]]:
    """A `write(row)` that streams rows of `columns` into `table` with binary COPY (binary
    COPY casts nothing, so each column's type is read from the catalogue)."""
    cursor.execute(
        "SELECT attname, atttypid FROM pg_attribute WHERE attrelid = %s::regclass "
        "AND attnum > 0 AND NOT attisdropped",
        [table],
    )
    type_of = dict(cursor.fetchall())
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    cursor.adapters.register_dumper(None, PooledInetDumper)
    with cursor.copy(statement) as copy:
        copy.set_types([type_of[c] for c in columns])
        yield copy.write_row


class PooledInetDumper(InetBinaryDumper):
    """psycopg's binary inet dumper, remembering each address's bytes: a load draws
    millions of clicks from a pool of some thousands of addresses, and the stock dumper
    (pure Python) would cost more than the rest of the row."""

    def __init__(self, cls: type, context: Any = None) -> None:
        super().__init__(cls, context)
        self.dumped: dict[int, tuple[Any, bytes]] = {}

    def dump(self, obj: Any) -> Any:
        # Keyed by identity (an address's own hash is slow Python); the address is kept
        # with its bytes, so its id cannot be reused by another object meanwhile.
        kept = self.dumped.get(id(obj))
        if kept is None:
            kept = self.dumped[id(obj)] = (obj, super().dump(obj))
        return kept[1]


def next_id(cursor: Any, table: str) -> int:
    """The first id to give explicitly: past both the stored rows and the identity sequence."""
    cursor.execute(
        sql.SQL("SELECT coalesce(max(id), 0), pg_get_serial_sequence(%s, 'id') FROM {}").format(
            sql.Identifier(table)
        ),
        [table],
    )
    largest, sequence = cursor.fetchone()
    schema, name = sequence.split(".", 1)
    cursor.execute(
        sql.SQL("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {}.{}").format(
            sql.Identifier(schema.strip('"')), sql.Identifier(name.strip('"'))
        )
    )
    return max(largest, cursor.fetchone()[0]) + 1


def sequence_past_max(cursor: Any, table: str) -> None:
    """After rows with explicit ids: the next id the database gives is past them."""
    cursor.execute(
        sql.SQL(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'), greatest(max(id), 1), "
            "max(id) IS NOT NULL) FROM {}"
        ).format(sql.Identifier(table)),
        [table],
    )


def secondary_indexes_drop(cursor: Any, tables: Sequence[str]) -> list[sql.Composable]:
    """Drop the tables' secondary indexes and their unique and foreign-key constraints;
    return the statements that make them again, to run once the rows are in.

    Building an index once is much faster than keeping it up to date row by row, and no
    queue of deferred foreign-key checks piles up in memory. Primary keys and check
    constraints stay. Run inside a transaction: DDL is transactional in PostgreSQL, so a
    load that fails leaves every index and constraint as it was.
    """
    drops: list[sql.Composable] = []
    fk_drops: list[sql.Composable] = []
    indexes: list[sql.Composable] = []
    uniques: list[sql.Composable] = []
    foreign_keys: list[sql.Composable] = []
    for table in tables:
        cursor.execute(
            "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('u', 'f')",
            [table],
        )
        for name, kind, definition in cursor.fetchall():
            alter = sql.SQL("ALTER TABLE {} {} CONSTRAINT {}")
            drop = alter.format(sql.Identifier(table), sql.SQL("DROP"), sql.Identifier(name))
            (drops if kind == "u" else fk_drops).append(drop)
            add = alter.format(sql.Identifier(table), sql.SQL("ADD"), sql.Identifier(name))
            (uniques if kind == "u" else foreign_keys).append(add + sql.SQL(" " + definition))
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = %s::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid "
            "AND c.contype IN ('p', 'u', 'x'))",
            [table],
        )
        for name, definition in cursor.fetchall():
            drops.append(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            # A partitioned table's index reads back as CREATE INDEX ... ON ONLY: made so,
            # it would be the parent's alone (invalid) and no partition would have it
            # (2026-12-03: every raw click lookup of a 10M fill read a month by time).
            indexes.append(sql.SQL(definition.replace(" ON ONLY ", " ON ", 1)))
    # Deferred checks of rows written earlier in the transaction must run before their
    # constraints can be altered. Foreign keys go first and come back last: one may lean
    # on a unique constraint.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    for statement in [*fk_drops, *drops]:
        cursor.execute(statement)
    return [*indexes, *uniques, *foreign_keys]


def partitions_cover(cursor: Any, tables: Sequence[str], start: Any, end: Any) -> list[str]:
    """Month partitions over the fill's period for those of `tables` that are partitioned,
    as an account that has been on partitioned tables all along has them (the maintenance
    task makes each month ahead of time). A fresh database's legacy partition (MINVALUE up
    to three months back, for the rows a table had before it was partitioned) is empty: it
    shrinks to end where the period's first month begins, so a fill longer than three months
    lands in months too rather than in one legacy table. Returns the partitions made."""
    made: list[str] = []
    for table in tables:
        if not partitions.is_partitioned(table):
            continue
        first = partitions.month_start(start)
        legacy = f"{table}_legacy"
        for partition in partitions.partitions(table):
            if partition.name != legacy or partition.upper is None or partition.upper <= first:
                continue
            cursor.execute(
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(legacy))
            )
            if cursor.fetchone()[0]:
                continue  # rows from before the partitioning: kept where they are
            cursor.execute(
                sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(
                    sql.Identifier(table), sql.Identifier(legacy)
                )
            )
            cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(legacy)))
            cursor.execute(
                sql.SQL(
                    "CREATE TABLE {} PARTITION OF {} FOR VALUES FROM (MINVALUE) TO (%s)"
                ).format(sql.Identifier(legacy), sql.Identifier(table)),
                [first],
            )
        made += partitions.partitions_ensure(table, start=start, end=end)
    return made
