"""Rollup builds: fold sends, clicks and conversions into the tables the reports read.
This module runs a build (claims the stale parts, takes turns, isolates failures);
reporting.rollup_rows holds the SQL that builds the rows.

Incremental: database triggers (migration 0002) mark the (account, UTC hour) and the
messages each write touched; a build rebuilds exactly those days and messages from the raw
rows (delete, then insert, in one transaction) and deletes the markers. Rebuilding from the
raw rows, never adding deltas, is what makes it idempotent and lets late changes (a click
turned bot, a late or re-attributed conversion, a conversion approved, rejected, reversed
or refunded, a message's cost corrected, a list's bot-detection switch) correct it.
The embedded SQLite default has no triggers and rebuilds everything on each build.

One account's data never stops another's figures: each account's days, and each batch of
messages, are rebuilt in savepoints, and what fails is narrowed down to the day or the
message that fails, logged with its account, and left marked for the next build.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from django.db import DatabaseError, connection, transaction
from django.db.models import (
    Count,
    Exists,
    Model,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncHour
from django.utils import timezone

from attribution.models import Conversion
from core.models import Account, Message
from core.retention import account_retention_cutoff
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick
from reporting.models import (
    BotReasonRollup,
    DailyRollup,
    DirtyHour,
    DirtyMessage,
    MessageRollup,
    TraitRollup,
)
from reporting.rollup_rows import account_messages_rebuild, days_rebuild

logger = logging.getLogger(__name__)
T = TypeVar("T")

# pg_advisory_xact_lock key held by each build step ("RLUP" in ASCII).
BUILD_LOCK = 0x524C5550
MESSAGE_BATCH = 5000
# Message markers read at a time while claiming a batch: a marker may name MARK_CHUNK
# messages (a whole account marked), so a page of 200 of them parsed a million ids a step
# (166 ms a claim at 10M, against 7 ms for 10).
CLAIM_PAGE = 10
# A long stretch of stale days (a bulk load, a time zone change) is rebuilt a month at a time.
MAX_SPAN_DAYS = 31


# What a rebuild raises when the rows it reads cannot be built (a date past what Python or
# the rollup can hold, an overflowing figure): that day or message fails alone.
BUILD_ERRORS = (DatabaseError, ArithmeticError, ValueError)


@dataclass
class BuildResult:
    days: int = 0  # (account, day) slices rebuilt that have figures
    messages: int = 0  # messages rebuilt
    failed: int = 0  # days and messages that could not be built: logged, left marked


@dataclass
class _Kept:
    """What this build could not rebuild. It is marked again for the next build, and the
    rest of this build passes over it (it would only fail again). Kept by what it names,
    not by marker id, so that two builds at once do not hand a failing hour back and forth
    for ever."""

    hours: set[tuple[int, dt.datetime | None]] = field(default_factory=set)  # account, hour
    messages: set[int] = field(default_factory=set)
    failed: int = 0

    def unkept(self, markers: QuerySet[DirtyHour]) -> QuerySet[DirtyHour]:
        for account_id, hour in self.hours:
            markers = markers.exclude(account_id=account_id, hour=hour)  # None: IS NULL
        return markers


def rollups_build(*, everything: bool = False) -> BuildResult:
    """Bring the rollups up to date and return what was rebuilt. Safe to run in several
    processes at once: they take turns (see _build_step)."""
    if everything or connection.vendor != "postgresql":
        rollups_mark_everything()
    result = BuildResult()
    kept = _Kept()
    while (step := _build_step(kept)) is not None:
        result.days += step.days
        result.messages += step.messages
    result.failed = kept.failed
    return result


def rollups_mark_everything(account_ids: Iterable[int] | None = None) -> None:
    """Mark every day and message of the accounts (all accounts by default) stale."""
    accounts = Account.objects.all()
    if account_ids is not None:
        accounts = accounts.filter(pk__in=list(account_ids))
    DirtyHour.objects.bulk_create(
        [DirtyHour(account_id=pk, hour=None) for pk in accounts.values_list("pk", flat=True)]
    )


def _build_step(kept: _Kept) -> BuildResult | None:
    """Claim and rebuild one account's stale days and a batch of stale messages, in one
    transaction. None when there was nothing to claim but what this build `kept`."""
    result = BuildResult()
    with transaction.atomic():
        # Race: two builds at once (beat overlapping a slow build, `build_rollups` run by
        # hand) would each delete a day's rows and then both insert theirs, doubling it.
        # One build step at a time holds this lock; the second waits, then finds the
        # markers the first deleted gone. (SQLite: IMMEDIATE transactions serialise.)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [BUILD_LOCK])
        # Markers are claimed by what they name, not by id: every marker of the account
        # (one account's hours per step) and of a batch of messages, duplicates and all.
        # One committed after the DELETE stays for the next build; one committed before
        # it is seen by the rebuild's reads, which come after the DELETE.
        pending = kept.unkept(DirtyHour.objects.all())
        account_id = pending.order_by("id").values_list("account_id", flat=True).first()
        if account_id is not None:
            marked = pending.filter(account_id=account_id)
            hours = set(marked.filter(time_zone_was="").values_list("hour", flat=True).distinct())
            # A time-zone change: the zone the account had before the first one claimed (the
            # days past retention were cut in it).
            zone_was = (
                marked.exclude(time_zone_was="")
                .order_by("id")
                .values_list("time_zone_was", flat=True)
                .first()
            )
            if None not in hours:
                marked = marked.filter(Q(hour__in=hours) | ~Q(time_zone_was=""))
            marked.delete()
            result.days = _hours_rebuild(account_id, hours, kept, zone_was)
        message_ids = _messages_claim(kept)
        if message_ids:
            result.messages = _messages_rebuild(message_ids, kept)
    return result if account_id is not None or message_ids else None


def _messages_claim(kept: _Kept) -> list[int]:
    """Claim message markers, oldest first, until they name MESSAGE_BATCH messages this
    build has not kept; delete them and return those messages. What the last one names
    past the batch is marked again, in this transaction. A marker naming only kept
    messages stays (each kept message has its own marker, written when it failed).
    Markers are claimed by id: one committed after the SELECT is not deleted and stays for
    the next build; one claimed was committed before the DELETE, so the rebuild's reads,
    which come after it, see what it marked."""
    claimed: list[int] = []
    named: set[int] = set()
    last = 0
    while len(named) < MESSAGE_BATCH:
        page = list(
            DirtyMessage.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "message_ids")[:CLAIM_PAGE]
        )
        for pk, ids in page:
            last = pk
            fresh = set(ids) - kept.messages
            if fresh:
                claimed.append(pk)
                named |= fresh
                if len(named) >= MESSAGE_BATCH:
                    break
        if len(page) < CLAIM_PAGE:
            break
    if not claimed:
        return []
    DirtyMessage.objects.filter(pk__in=claimed).delete()
    ordered = sorted(named)
    DirtyMessage.mark(ordered[MESSAGE_BATCH:])
    return ordered[:MESSAGE_BATCH]


def _hours_rebuild(
    account_id: int, hours: set[dt.datetime | None], kept: _Kept, zone_was: str | None = None
) -> int:
    """Rebuild the local days these UTC hours touch (None: every day, and every message)
    and, after a time-zone change from `zone_was`, every day whose raw rows are kept.
    Returns how many days were rebuilt; the hours of days that failed are marked again."""
    time_zone = Account.objects.filter(pk=account_id).values_list("time_zone", flat=True).first()
    if time_zone is None:
        return 0  # a deleted account: its rows went with it
    tz = _zone(kept, account_id, time_zone)
    if tz is None:
        _hours_mark_again(account_id, hours, kept)
        if zone_was:
            _zone_change_mark_again(account_id, zone_was, kept)
        return 0
    rebuilt = 0
    if zone_was and None not in hours:  # a whole rebuild cuts every day in the new zone
        rebuilt, since = _zone_change_rebuild(account_id, tz, zone_was, kept)
        if since is not None:  # the hours from `since` on were just rebuilt
            hours = {hour for hour in hours if hour is not None and hour < since}
    if None in hours:
        _account_messages_mark(account_id)
        try:
            with transaction.atomic():
                return days_rebuild(account_id, tz, None, None)
        except BUILD_ERRORS as exc:
            _raise_if_broken(exc)
            logger.warning(
                "rollups: account %s could not be rebuilt whole (%s); rebuilding it day by day",
                account_id,
                exc,
            )
        try:
            with transaction.atomic():
                # The whole rebuild would have emptied the account's days first.
                hours = _account_hours(account_id)
                DailyRollup.objects.filter(account_id=account_id).delete()
                BotReasonRollup.objects.filter(account_id=account_id).delete()
                TraitRollup.objects.filter(account_id=account_id).delete()
        except BUILD_ERRORS as exc:
            _raise_if_broken(exc)
            _failure_log(kept, account_id, "every day", exc)
            _hours_mark_again(account_id, {None}, kept)
            return 0

    hours_of_day: dict[dt.date, set[dt.datetime]] = defaultdict(set)
    failed: set[dt.datetime] = set()
    for hour in filter(None, hours):
        try:
            # An hour can straddle two local days in a zone with a :30 or :45 offset.
            local = (
                hour.astimezone(tz),
                (hour + dt.timedelta(minutes=59, seconds=59)).astimezone(tz),
            )
        except OverflowError as exc:  # a day before year 1 or after 9999 there
            if _hour_has_figures(account_id, hour):
                _failure_log(kept, account_id, f"day {hour.date().isoformat()} (UTC)", exc)
                failed.add(hour)
            continue  # else nothing is left to build there (the row was put right)
        for moment in local:
            hours_of_day[moment.date()].add(hour)

    def day_failed(day: dt.date, exc: Exception) -> None:
        _failure_log(kept, account_id, f"day {day.isoformat()}", exc)
        failed.update(hours_of_day[day])

    for first, last in _spans(sorted(hours_of_day)):
        days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
        rebuild = functools.partial(_days_list_rebuild, account_id, tz)
        rebuilt += _isolated(days, rebuild, day_failed)
    _hours_mark_again(account_id, failed, kept)
    return rebuilt


def _zone_change_rebuild(
    account_id: int, tz: zoneinfo.ZoneInfo, zone_was: str, kept: _Kept
) -> tuple[int, dt.datetime | None]:
    """After the account's zone changed from `zone_was` to `tz`: cut again, in `tz`, the
    days whose raw rows are kept, and only those (issue 19). The days before the first kept
    day (retention's cutoff, in the old zone, as those days were cut) keep their rows, cut
    in the old zone: their raw clicks are gone, so they cannot be cut again. Every row from
    the cutoff on goes to a new day, the first of them taking the hours between the old
    zone's midnight and the new one's (each row on one day: none lost, none twice). Their
    messages' rows are cut again too. Returns the days rebuilt and the cutoff (None: it
    failed, logged and marked again)."""
    account = Account.objects.get(pk=account_id)
    try:
        since = account_retention_cutoff(account, timezone.now(), time_zone=zone_was)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        _failure_log(kept, account_id, f"every kept day (time zone was {zone_was!r})", exc)
        _zone_change_mark_again(account_id, zone_was, kept)
        return 0, None
    _account_messages_mark(account_id, since=since)
    try:
        with transaction.atomic():
            return days_rebuild(account_id, tz, since.date(), None, since=since), since
    except BUILD_ERRORS as exc:
        _raise_if_broken(exc)
        _failure_log(kept, account_id, f"every day from {since.date().isoformat()}", exc)
        _zone_change_mark_again(account_id, zone_was, kept)
        return 0, None


def _zone_change_mark_again(account_id: int, zone_was: str, kept: _Kept) -> None:
    DirtyHour.objects.create(account_id=account_id, hour=None, time_zone_was=zone_was)
    kept.hours.add((account_id, None))  # this build passes the account's markers over


def _days_list_rebuild(account_id: int, tz: zoneinfo.ZoneInfo, days: Sequence[dt.date]) -> int:
    return days_rebuild(account_id, tz, days[0], days[-1])


# Where each figure's time is: the rows whose hours the triggers mark.
_FIGURE_TIMES: tuple[tuple[type[Model], str], ...] = (
    (Message, "sent_at"),
    (MessageShortLinkClick, "clicked_at"),
    (MessageClick, "clicked_at"),
    (Conversion, "occurred_at"),
)


def _account_hours(account_id: int) -> set[dt.datetime]:
    """Every UTC hour in which the account has a figure: a send, a click, a conversion."""
    hours: set[dt.datetime] = set()
    for model, column in _FIGURE_TIMES:
        hours.update(
            model.objects.filter(account_id=account_id)
            .annotate(hour=TruncHour(column, tzinfo=dt.UTC))
            .order_by()
            .values_list("hour", flat=True)
            .distinct()
        )
    return hours


def _hour_has_figures(account_id: int, hour: dt.datetime) -> bool:
    """Whether the account has a send, a click or a conversion in this UTC hour."""
    last_hour = dt.datetime.max.replace(minute=0, second=0, microsecond=0, tzinfo=dt.UTC)
    for model, column in _FIGURE_TIMES:
        rows = model.objects.filter(account_id=account_id, **{f"{column}__gte": hour})
        if hour < last_hour:
            rows = rows.filter(**{f"{column}__lt": hour + dt.timedelta(hours=1)})
        if rows.exists():
            return True
    return False


def _isolated(
    parts: list[T], build: Callable[[list[T]], int], failed: Callable[[T, Exception], None]
) -> int:
    """`build(parts)` in a savepoint; if it fails, each half again, down to the single
    parts that fail, which `failed` is told of. One bad day or message among thousands
    costs a few rebuilds (a bisection), and only itself is left unbuilt."""
    try:
        with transaction.atomic():
            return build(parts)
    except BUILD_ERRORS as exc:
        _raise_if_broken(exc)
        if len(parts) == 1:
            failed(parts[0], exc)
            return 0
    middle = len(parts) // 2
    return _isolated(parts[:middle], build, failed) + _isolated(parts[middle:], build, failed)


def _raise_if_broken(exc: Exception) -> None:
    """Raise `exc` again if it took the transaction with it (a lost connection: rolling
    back to the savepoint failed), which no day or message is to blame for."""
    if connection.needs_rollback:
        raise exc


def _zone(kept: _Kept, account_id: int, time_zone: str) -> zoneinfo.ZoneInfo | None:
    """The account's zone; None (logged) if this machine's tzdata has no such zone."""
    try:
        return zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        _failure_log(kept, account_id, f"every day (time zone {time_zone!r})", exc)
        return None


def _failure_log(kept: _Kept, account_id: int, what: str, exc: Exception) -> None:
    """`what`: "day 2026-01-04", "every day"."""
    kept.failed += 1
    logger.error(
        "rollups: account %s, %s could not be built (%s: %s); its marker is kept for the "
        "next build",
        account_id,
        what,
        type(exc).__name__,
        exc,
    )


def _hours_mark_again(account_id: int, hours: set[dt.datetime | None], kept: _Kept) -> None:
    # Outside the savepoints that failed, so inside the step's transaction: committed with
    # it. An hour kept before in this build still has its marker (it was not claimed).
    again = {hour for hour in hours if (account_id, hour) not in kept.hours}
    DirtyHour.objects.bulk_create([DirtyHour(account_id=account_id, hour=h) for h in again])
    kept.hours.update((account_id, hour) for hour in again)


def _spans(days: list[dt.date]) -> Iterator[tuple[dt.date, dt.date]]:
    """Runs of consecutive days, each at most MAX_SPAN_DAYS long."""
    if not days:
        return
    first = last = days[0]
    for day in days[1:]:
        if day == last + dt.timedelta(days=1) and (day - first).days < MAX_SPAN_DAYS:
            last = day
        else:
            yield first, last
            first = last = day
    yield first, last


def _account_messages_mark(account_id: int, *, since: dt.datetime | None = None) -> None:
    """Every message row of the account (sent from `since`, if given) goes stale (its local
    sent day may have moved); rows of messages that no longer exist go now."""
    if since is None:
        MessageRollup.objects.filter(account_id=account_id).exclude(
            Exists(Message.objects.filter(pk=OuterRef("message_id")))
        ).delete()
    if connection.vendor != "postgresql":  # the embedded default: a small account
        messages = Message.objects.filter(account_id=account_id)
        if since is not None:
            messages = messages.filter(sent_at__gte=since)
        DirtyMessage.mark(messages.values_list("pk", flat=True))
        return
    table, messages_table = DirtyMessage._meta.db_table, Message._meta.db_table
    where, params = "account_id = %s", [account_id]
    if since is not None:
        where, params = f"{where} AND sent_at >= %s", [*params, since]
    # In markers of DirtyMessage.MARK_CHUNK messages, as DirtyMessage.mark writes them.
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (message_ids)"  # noqa: S608 - table names from models
            " SELECT jsonb_agg(id ORDER BY id) FROM"
            f" (SELECT id, (row_number() OVER (ORDER BY id) - 1) / %s AS chunk"
            f"  FROM {messages_table} WHERE {where}) AS numbered GROUP BY chunk",
            [DirtyMessage.MARK_CHUNK, *params],
        )


def _messages_rebuild(message_ids: list[int], kept: _Kept) -> int:
    """Rewrite the MessageRollup rows of these messages, per account (the local sent day
    needs the account's zone), each account's in a savepoint: a message that cannot be
    built is logged and marked again, the others are built. Returns how many messages
    have rows now."""
    by_account: dict[tuple[int, str], list[int]] = defaultdict(list)
    for pk, account_id, time_zone in Message.objects.filter(pk__in=message_ids).values_list(
        "pk", "account_id", "account__time_zone"
    ):
        by_account[(account_id, time_zone)].append(pk)
    present = {pk for pks in by_account.values() for pk in pks}
    MessageRollup.objects.filter(
        message_id__in=[pk for pk in message_ids if pk not in present]
    ).delete()  # rows of messages that are gone
    # Messages carrying links to more than one offer (rare) also get rows for the others.
    several = set(
        MessageShortLink.objects.filter(message_id__in=message_ids, offer__isnull=False)
        .values("message_id")
        .annotate(offers=Count("offer_id", distinct=True))
        .filter(offers__gt=1)
        .values_list("message_id", flat=True)
    )
    failed: list[int] = []
    rebuilt = 0
    for (account_id, time_zone), pks in by_account.items():
        tz = _zone(kept, account_id, time_zone)
        if tz is None:
            failed.extend(pks)
            continue
        rebuild = functools.partial(account_messages_rebuild, tz, several=several)
        message_failed = functools.partial(_message_failed, kept, failed, account_id)
        rebuilt += _isolated(sorted(pks), rebuild, message_failed)
    DirtyMessage.mark(failed)
    kept.messages.update(failed)
    return rebuilt


def _message_failed(
    kept: _Kept, failed: list[int], account_id: int, message_id: int, exc: Exception
) -> None:
    kept.failed += 1
    failed.append(message_id)
    logger.error(
        "rollups: message %s of account %s could not be built (%s: %s); it stays marked for "
        "the next build",
        message_id,
        account_id,
        type(exc).__name__,
        exc,
    )
