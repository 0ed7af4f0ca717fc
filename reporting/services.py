"""Rollup builds: fold sends, clicks and conversions into the tables the reports read.

Incremental: database triggers (migration 0002) mark the (account, UTC hour) and the
messages each write touched; a build rebuilds exactly those days and messages from the raw
rows (delete, then insert, in one transaction) and deletes the markers. Rebuilding from the
raw rows, never adding deltas, is what makes it idempotent and lets late changes (a click
turned bot, a late or re-attributed conversion, a list's bot-detection switch) correct it.
The embedded SQLite default has no triggers and rebuilds everything on each build.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import TruncDate

from attribution.models import Conversion
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick
from reporting.models import DailyRollup, DirtyHour, DirtyMessage, MessageRollup
from reporting.selectors import CLICK_CREDIT
from trackly.models import Account, Message

logger = logging.getLogger(__name__)

VIEW_THROUGH = Conversion.AttributionType.VIEW_THROUGH

# pg_advisory_xact_lock key held by each build step ("RLUP" in ASCII).
BUILD_LOCK = 0x524C5550
HOUR_BATCH = 5000
MESSAGE_BATCH = 5000
# A long stretch of stale days (a bulk load, a time zone change) is rebuilt a month at a time.
MAX_SPAN_DAYS = 31

Slice = tuple[dt.date, int | None, int | None, int | None, int | None]  # day, c, cr, list, offer


@dataclass
class BuildResult:
    days: int = 0  # (account, day) slices rebuilt
    messages: int = 0  # message rows rebuilt

    def __bool__(self) -> bool:
        return bool(self.days or self.messages)


def rollups_build(*, everything: bool = False) -> BuildResult:
    """Bring the rollups up to date and return what was rebuilt. Safe to run in several
    processes at once: they take turns (see _build_step)."""
    if everything or connection.vendor != "postgresql":
        rollups_mark_everything()
    result = BuildResult()
    while step := _build_step():
        result.days += step.days
        result.messages += step.messages
    return result


def rollups_mark_everything(account_ids: Iterable[int] | None = None) -> None:
    """Mark every day and message of the accounts (all accounts by default) stale."""
    accounts = Account.objects.all()
    if account_ids is not None:
        accounts = accounts.filter(pk__in=list(account_ids))
    DirtyHour.objects.bulk_create(
        [DirtyHour(account_id=pk, hour=None) for pk in accounts.values_list("pk", flat=True)]
    )


def _build_step() -> BuildResult:
    result = BuildResult()
    with transaction.atomic():
        # Race: two builds at once (beat overlapping a slow build, `build_rollups` run by
        # hand) would each delete a day's rows and then both insert theirs, doubling it.
        # One build step at a time holds this lock; the second waits, then finds the
        # markers the first deleted gone. (SQLite: IMMEDIATE transactions serialise.)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [BUILD_LOCK])
        # Markers are deleted by id, never by "id <= max": ids come from a sequence but
        # commit out of order, so a lower id may become visible after a higher one.
        hours = list(
            DirtyHour.objects.order_by("id").values_list("id", "account_id", "hour")[:HOUR_BATCH]
        )
        messages = list(
            DirtyMessage.objects.order_by("id").values_list("id", "message_id")[:MESSAGE_BATCH]
        )
        if hours:
            DirtyHour.objects.filter(id__in=[h[0] for h in hours]).delete()
            result.days = _hours_rebuild([(a, h) for _, a, h in hours])
        if messages:
            DirtyMessage.objects.filter(id__in=[m[0] for m in messages]).delete()
            result.messages = _messages_rebuild({m for _, m in messages})
    return result


def _hours_rebuild(hours: list[tuple[int, dt.datetime | None]]) -> int:
    time_zones = dict(
        Account.objects.filter(pk__in={a for a, _ in hours}).values_list("pk", "time_zone")
    )
    whole = {a for a, h in hours if h is None and a in time_zones}
    days: dict[int, set[dt.date]] = defaultdict(set)
    for account_id, hour in hours:
        if account_id in time_zones and account_id not in whole and hour is not None:
            tz = zoneinfo.ZoneInfo(time_zones[account_id])
            # An hour can straddle two local days in a zone with a :30 or :45 offset.
            days[account_id].add(hour.astimezone(tz).date())
            days[account_id].add(
                (hour + dt.timedelta(minutes=59, seconds=59)).astimezone(tz).date()
            )
    rebuilt = 0
    for account_id in whole:
        tz = zoneinfo.ZoneInfo(time_zones[account_id])
        rebuilt += _days_rebuild(account_id, tz, None, None)
        _account_messages_mark(account_id)
    for account_id, account_days in days.items():
        tz = zoneinfo.ZoneInfo(time_zones[account_id])
        for first, last in _spans(sorted(account_days)):
            rebuilt += _days_rebuild(account_id, tz, first, last)
    # Markers of deleted accounts have nothing left to rebuild (their rows cascaded).
    return rebuilt


def _spans(days: list[dt.date]) -> Iterator[tuple[dt.date, dt.date]]:
    """Runs of consecutive days, each at most MAX_SPAN_DAYS long."""
    first = last = days[0]
    for day in days[1:]:
        if day == last + dt.timedelta(days=1) and (day - first).days < MAX_SPAN_DAYS:
            last = day
        else:
            yield first, last
            first = last = day
    yield first, last


def _account_messages_mark(account_id: int) -> None:
    """Every message row of the account goes stale (its local sent day may have moved);
    rows of messages that no longer exist go now."""
    MessageRollup.objects.filter(account_id=account_id).exclude(
        Exists(Message.objects.filter(pk=OuterRef("message_id")))
    ).delete()
    table, messages = DirtyMessage._meta.db_table, Message._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (message_id) SELECT id FROM {messages} WHERE account_id = %s",  # noqa: S608 - table names from models
            [account_id],
        )


def _days_rebuild(
    account_id: int, tz: zoneinfo.ZoneInfo, first: dt.date | None, last: dt.date | None
) -> int:
    """Rebuild the DailyRollup rows of one account from `first` to `last` (local days,
    inclusive; None: every day). Returns how many days now have rows."""
    slices: dict[Slice, dict[str, Any]] = defaultdict(dict)

    def within(queryset: QuerySet, column: str) -> QuerySet:
        queryset = queryset.filter(account_id=account_id)
        if first is not None and last is not None:
            # A day's UTC bounds, widened by a day on each side (DST, odd offsets); the
            # exact cut is the local day computed by the database below.
            low = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(), tz)
            high = dt.datetime.combine(last + dt.timedelta(days=2), dt.time(), tz)
            queryset = queryset.filter(**{f"{column}__gte": low, f"{column}__lt": high})
        queryset = queryset.annotate(day=TruncDate(column, tzinfo=tz))
        if first is not None:
            queryset = queryset.filter(day__range=(first, last))
        return queryset

    def add(key: Slice, **counts: int | Decimal) -> None:
        row = slices[key]
        for name, value in counts.items():
            row[name] = row.get(name, 0) + (value or 0)

    # Sends: once per message on its first offer's row, and once per offer it carries.
    first_offer = (
        MessageShortLink.objects.filter(message=OuterRef("pk"), offer__isnull=False)
        .order_by("id")
        .values("offer_id")[:1]
    )
    for r in (
        within(Message.objects.all(), "sent_at")
        .annotate(first_offer=Subquery(first_offer))
        .values("day", "campaign_id", "creative_id", "sending_list_id", "first_offer")
        .annotate(n=Count("id"))
    ):
        key = (r["day"], r["campaign_id"], r["creative_id"], r["sending_list_id"], r["first_offer"])
        add(key, sends=r["n"], offer_sends=r["n"] if r["first_offer"] is None else 0)
    by_message = ("day", "message__campaign_id", "message__creative_id", "message__sending_list_id")
    for r in (
        within(MessageShortLink.objects.filter(offer__isnull=False), "message__sent_at")
        .values(*by_message, "offer_id")
        .annotate(n=Count("message_id", distinct=True))
    ):
        add(_key(r, "offer_id"), offer_sends=r["n"])
    for r in (
        within(MessageShortLinkClick.objects.all(), "clicked_at")
        .values(*by_message, "link__offer_id")
        .annotate(raw=Count("id"), bots=Count("id", filter=Q(is_bot=True)))
    ):
        add(_key(r, "link__offer_id"), raw_clicks=r["raw"], bot_clicks=r["bots"])
    for r in (
        within(MessageClick.objects.all(), "clicked_at")
        .values(*by_message, "offer_id")
        .annotate(n=Count("id"))
    ):
        add(_key(r, "offer_id"), unique_clicks=r["n"])
    for r in (
        within(counted_conversions(), "occurred_at")
        .values(*by_message, "offer_id", "attribution_type")
        .annotate(n=Count("id"), revenue=Sum("revenue"))
    ):
        if r["attribution_type"] == VIEW_THROUGH:
            add(
                _key(r, "offer_id"),
                view_through_conversions=r["n"],
                view_through_revenue=r["revenue"],
            )
        else:
            add(_key(r, "offer_id"), conversions=r["n"], revenue=r["revenue"])

    stale = DailyRollup.objects.filter(account_id=account_id)
    if first is not None:
        stale = stale.filter(day__range=(first, last))
    stale.delete()
    DailyRollup.objects.bulk_create(
        [
            DailyRollup(
                account_id=account_id,
                day=day,
                campaign_id=campaign,
                creative_id=creative,
                sending_list_id=sending_list,
                offer_id=offer,
                **counts,
            )
            for (day, campaign, creative, sending_list, offer), counts in slices.items()
        ],
        batch_size=2000,
    )
    return len({key[0] for key in slices})


def _key(row: dict[str, Any], offer: str) -> Slice:
    return (
        row["day"],
        row["message__campaign_id"],
        row["message__creative_id"],
        row["message__sending_list_id"],
        row[offer],
    )


def counted_conversions() -> QuerySet[Conversion]:
    """The conversions reports count: accepted, credited through a click or view-through."""
    return Conversion.objects.filter(
        status=Conversion.Status.ACCEPTED, attribution_type__in=(*CLICK_CREDIT, VIEW_THROUGH)
    )


def _messages_rebuild(message_ids: set[int]) -> int:
    ids = list(message_ids)
    MessageRollup.objects.filter(message_id__in=ids).delete()
    rows = {
        pk: MessageRollup(
            message_id=pk,
            account_id=account_id,
            day=sent_at.astimezone(zoneinfo.ZoneInfo(time_zone)).date(),
            sent_at=sent_at,
            campaign_id=campaign,
            creative_id=creative,
            sending_list_id=sending_list,
        )
        for pk, account_id, time_zone, sent_at, campaign, creative, sending_list in (
            Message.objects.filter(pk__in=ids).values_list(
                "pk",
                "account_id",
                "account__time_zone",
                "sent_at",
                "campaign_id",
                "creative_id",
                "sending_list_id",
            )
        )
    }
    for r in (
        MessageShortLinkClick.objects.filter(message_id__in=ids)
        .values("message_id")
        .annotate(raw=Count("id"), bots=Count("id", filter=Q(is_bot=True)))
    ):
        if row := rows.get(r["message_id"]):
            row.raw_clicks, row.bot_clicks = r["raw"], r["bots"]
    for message_id, n in (
        MessageClick.objects.filter(message_id__in=ids)
        .values("message_id")
        .annotate(n=Count("id"))
        .values_list("message_id", "n")
    ):
        if row := rows.get(message_id):
            row.unique_clicks = n
    for r in (
        counted_conversions()
        .filter(message_id__in=ids)
        .values("message_id", "attribution_type")
        .annotate(n=Count("id"), revenue=Sum("revenue"))
    ):
        if row := rows.get(r["message_id"]):
            if r["attribution_type"] == VIEW_THROUGH:
                row.view_through_conversions += r["n"]
                row.view_through_revenue += r["revenue"]
            else:
                row.conversions += r["n"]
                row.revenue += r["revenue"]
    MessageRollup.objects.bulk_create(rows.values(), batch_size=2000)
    return len(ids)
