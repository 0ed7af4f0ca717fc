"""How long an account's raw rows are kept (`Account.data_retention_days`): the cutoff, and
the mark a retention delete carries so that nothing mistakes it for a change of figures.

The cutoff is the start of a local day (the account's time zone): retention removes whole
report days, never part of one, so a day is either wholly kept or wholly past retention,
and a rebuild of a day past retention knows its raw rows are gone (reporting.rollup_rows
keeps that day's stored raw-click figures)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.db import connection, transaction

if TYPE_CHECKING:
    from core.models import Account

# Set (transaction-local) while retention deletes: reporting's dirty-marking trigger on the
# raw clicks skips a statement run under it (reporting 0009).
RETENTION_SETTING = "trackly.retention"

DELETE_BATCH = 5000


def retention_cutoff(days: int, time_zone: str, now: dt.datetime) -> dt.datetime:
    """Rows older than this (the start of the local day `days` days before `now`) go."""
    tz = zoneinfo.ZoneInfo(time_zone or "UTC")
    day = (now.astimezone(tz) - dt.timedelta(days=days)).date()
    return dt.datetime.combine(day, dt.time(), tz)


def account_retention_cutoff(
    account: Account, now: dt.datetime, *, time_zone: str | None = None
) -> dt.datetime:
    """The cutoff retention applies to `account` at `now`: its data_retention_days, never
    inside a click window (Account.retention_uncovered, whatever was stored), in its time
    zone or in `time_zone` (the zone it had: a time-zone change, reporting.services)."""
    days = max(account.data_retention_days, account.click_window_widest())
    return retention_cutoff(days, time_zone or account.time_zone, now)


def retention_first_kept_day(days: int, time_zone: str, now: dt.datetime) -> dt.date:
    """The oldest local day whose raw rows are kept; the days before it are past retention."""
    return retention_cutoff(days, time_zone, now).date()


@contextmanager
def retention_transaction() -> Iterator[None]:
    """A transaction whose deletes are retention's (see RETENTION_SETTING)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'on', true)", [RETENTION_SETTING])
        yield


def batched_delete(
    table: str,
    where: str,
    params: list[object],
    batch: int,
    *,
    references: tuple[tuple[str, str], ...] = (),
    before: Callable[[list[int]], None] | None = None,
) -> int:
    """Delete the rows of `table` matching `where`, `batch` rows a transaction (short
    locks, small WAL bursts). `references`: (table, column) pairs whose foreign keys to
    these rows are set to NULL first, in the same transaction; `before(ids)` runs there
    too, before the rows go (a tally of what goes commits with the delete). Returns how
    many rows went."""
    qn = connection.ops.quote_name
    total = 0
    while True:
        with retention_transaction(), connection.cursor() as cursor:
            # Names and the condition come from the callers' code, never from input.
            select = f"SELECT id FROM {qn(table)} WHERE {where} LIMIT %s"  # noqa: S608
            cursor.execute(select, [*params, batch])
            ids = [row[0] for row in cursor.fetchall()]
            if ids:
                if before is not None:
                    before(ids)
                marks = ", ".join(["%s"] * len(ids))
                for other, column in references:
                    cursor.execute(
                        f"UPDATE {qn(other)} SET {qn(column)} = NULL"  # noqa: S608
                        f" WHERE {qn(column)} IN ({marks})",
                        ids,
                    )
                delete = f"DELETE FROM {qn(table)} WHERE id IN ({marks})"  # noqa: S608
                cursor.execute(delete, ids)
        total += len(ids)
        if len(ids) < batch:
            return total
