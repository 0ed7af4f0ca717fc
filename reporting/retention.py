"""Retention (`python manage.py apply_retention`, daily on beat): each account's raw rows
older than its `data_retention_days` (the cutoff: core.retention) go, each app deleting its
own tables (links.retention: raw clicks; attribution.retention: the postback log;
webhooks.retention: events with their deliveries and attempts), and the partitions of a
partitioned table that no account still needs are dropped whole (core.partitions).

It lives in reporting because it must bring the rollups up to date before any raw row
goes: a day marked stale but not yet rebuilt would otherwise be rebuilt later from rows
that are gone. reporting is the lowest layer that sees the rollups and every app whose
rows retention deletes (import-linter's layers: reporting > webhooks > attribution >
links > core). The deletes themselves mark nothing stale (reporting 0009), and a rebuild of
a day past retention keeps its stored raw-click figures (reporting.rollup_rows)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from attribution.models import PostbackLog
from attribution.retention import postback_log_purge
from core import partitions
from core.models import Account, Event
from core.retention import DELETE_BATCH, account_retention_cutoff
from links.models import MessageShortLinkClick
from links.retention import raw_clicks_purge
from reporting.models import PrunedClicks
from reporting.services import rollups_build
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.retention import events_purge


@dataclass
class TableRetention:
    rows: int = 0
    partitions: list[str] = field(default_factory=list)


def retention_apply(
    *, now: dt.datetime | None = None, batch: int = DELETE_BATCH
) -> dict[str, TableRetention]:
    """Enforce every account's retention at `now`. Returns, per table, the rows deleted
    and the partitions dropped."""
    now = now or timezone.now()
    rollups_build()
    raw_table = MessageShortLinkClick._meta.db_table
    log_table = PostbackLog._meta.db_table
    summary = {
        raw_table: TableRetention(),
        log_table: TableRetention(),
        Event._meta.db_table: TableRetention(),
        WebhookDelivery._meta.db_table: TableRetention(),
        WebhookAttempt._meta.db_table: TableRetention(),
    }
    cutoffs: list[dt.datetime] = []
    fields = ("pk", "data_retention_days", "default_click_window_days", "time_zone")
    for account in Account.objects.order_by("pk").only(*fields):
        account_id = account.pk
        cutoff = account_retention_cutoff(account, now)
        cutoffs.append(cutoff)
        summary[raw_table].rows += raw_clicks_purge(
            account_id, cutoff, batch=batch, before=_pruned_clicks_tally
        )
        summary[log_table].rows += postback_log_purge(account_id, cutoff, batch=batch)
    counts: dict[str, int] = {}
    events_purge(now=now, batch=batch, counts=counts)
    for table, n in counts.items():
        summary[table].rows += n
    if cutoffs:
        # A partition goes only when every account is done with its months.
        oldest = min(cutoffs)
        kept = _events_kept_from(oldest)
        for table, result in summary.items():
            cutoff = kept if table in _EVENT_TABLES else oldest
            result.partitions = partitions.partitions_drop_before(table, cutoff)
    return summary


_EVENT_TABLES = (Event._meta.db_table, WebhookDelivery._meta.db_table)


def _events_kept_from(cutoff: dt.datetime) -> dt.datetime:
    """How far event partitions (and deliveries', stamped with their event's time) may be
    dropped: never the newest numbered event's month, which events_purge keeps however old
    (the sequencer continues from it), nor an event not numbered yet."""
    kept = Event.objects.filter(sequence__isnull=False).order_by("-sequence")
    newest = kept.values_list("created_at", flat=True).first()
    unnumbered = Event.objects.filter(sequence__isnull=True).order_by("created_at")
    first_unnumbered = unnumbered.values_list("created_at", flat=True).first()
    return min(t for t in (cutoff, newest, first_unnumbered) if t is not None)


def _pruned_clicks_tally(ids: list[int]) -> None:
    """Add the raw clicks about to go to their messages' PrunedClicks (same transaction as
    the delete: a batch is tallied exactly when it is deleted). ON CONFLICT adds to a
    message's row when another batch or run tallied it first."""
    qn = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(PrunedClicks._meta.db_table)} (message_id, raw_clicks, bot_clicks)"  # noqa: S608 - names from models
            " SELECT message_id, COUNT(*), SUM(CASE WHEN is_bot THEN 1 ELSE 0 END)"
            f" FROM {qn(MessageShortLinkClick._meta.db_table)} WHERE id IN ({marks})"
            " GROUP BY message_id"
            " ON CONFLICT (message_id) DO UPDATE SET"
            " raw_clicks = {t}.raw_clicks + excluded.raw_clicks,"
            " bot_clicks = {t}.bot_clicks + excluded.bot_clicks".replace(
                "{t}", qn(PrunedClicks._meta.db_table)
            ),
            ids,
        )
