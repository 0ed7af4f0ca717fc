"""Bots told by what they do, judged shortly after the click (Celery, attribution.tasks).

Checks, each turning a click into a bot after the fact, with its reason (the verdict change,
and the counted click it may move, is links.counting.message_click_recompute):
- `behaviour:delivery-scan`: clicked within the list's `scanner_window_seconds` of the
  message's `sent_at` (carrier scanners fetch at delivery).
- `behaviour:ip-fanout`: one IP opened links of the account's `bot_ip_fanout_contacts` or
  more different contacts within `bot_ip_fanout_seconds`.
- `behaviour:link-flood`: more than BOT_LINK_CLICKS_PER_MINUTE clicks on one link within
  a minute (the clicks past that number).
- `behaviour:datacenter:<network>`: a click still human (so a browser agent) from a hosting
  or cloud network (attribution.datacenter, the one rule), on a list with
  `datacenter_check` on; a message with no list counts as on (like bot detection). The
  network is the one the consumer stored on the click, else the IP's, which the judge
  stores first (`_places_complete`: the direct write leaves a click's place to it, and
  clicks stored before issue 17 have none). A list's switch applies to clicks judged
  after it.

A click already a bot stays as it is; otherwise the first of these that applies is its
reason. A click stored as `internal` (test and internal traffic) is never turned by any
check and is not counted by the fan-out rule.

The judge works a batch at a time, set-based: the batch's facts in a few queries, the
checks in memory, the verdicts in one UPDATE per reason. Then, in the batch's transaction,
the counted clicks it moved are recomputed and what was told of its pairs is corrected
(links.click_events), and `click.recorded` is written for the accounts that subscribed to it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Min, QuerySet
from django.utils import timezone

from attribution.datacenter import datacenter_reason
from attribution.fraud import flag_raise
from attribution.models import FraudFlag
from core.events import NewEvent, events_emit
from core.models import WebhookEndpoint
from links import counting
from links.bots import INTERNAL_REASON
from links.click_events import click_events_reconcile
from links.event_data import clicks_load, recorded_data
from links.models import MessageShortLinkClick
from links.traits import click_place

logger = logging.getLogger(__name__)

JUDGE_BATCH = 2000
# Accounts that get a share of a batch (the longest waiting first).
FAIR_ACCOUNTS = 50
# Clicks outside a batch that its fan-out turns, per transaction.
OUTSIDE_CHUNK = 500
DELIVERY_SCAN = "behaviour:delivery-scan"
IP_FANOUT = "behaviour:ip-fanout"
LINK_FLOOD = "behaviour:link-flood"
RECORDED = "click.recorded"
_FLOOD_SPAN = dt.timedelta(minutes=1)


@dataclass
class _Click:
    """What the checks read of a raw click."""

    pk: int
    account_id: int
    contact_id: int
    message_id: int
    short_link_id: int
    clicked_at: dt.datetime
    ip: str | None
    is_bot: bool
    bot_reason: str


@dataclass
class _Judged(_Click):
    """A click of the batch, with its message's send time and its account's fan-out rule."""

    sent_at: dt.datetime
    scanner_window: int | None
    fanout_seconds: int
    fanout_contacts: int
    user_agent: str
    network: str
    datacenter_check: bool | None  # None: the message has no list


@dataclass
class _Flag:
    click: _Judged
    contacts: int
    clicks: int


def clicks_judge_pending(*, limit: int = JUDGE_BATCH) -> int:
    """Judge clicks not judged yet; several workers may run this at once. Returns how many."""
    with transaction.atomic():
        # Race: two workers sweeping together. SKIP LOCKED hands each its own clicks, and
        # the batch's verdicts, judged_at, recomputes and events commit together.
        batch = _claim(limit)
        if not batch:
            return 0
        _places_complete(batch)
        verdicts: dict[int, str] = {}
        _delivery_scan_check(batch, verdicts)
        others, flags = _ip_fanout_check(batch, verdicts)
        _link_flood_check(batch, verdicts)
        _datacenter_check(batch, verdicts)
        MessageShortLinkClick.objects.filter(pk__in=[c.pk for c in batch]).update(
            judged_at=timezone.now()
        )
        by_reason: dict[str, list[int]] = defaultdict(list)
        for pk, reason in verdicts.items():
            by_reason[reason].append(pk)
        for reason, pks in by_reason.items():
            MessageShortLinkClick.objects.filter(pk__in=pks).update(is_bot=True, bot_reason=reason)
        # Race: two batches recomputing at once. Both lock messages (and then what was
        # told) in message order, so they wait for each other rather than deadlock.
        for contact_id, message_id in sorted(
            {(c.contact_id, c.message_id) for c in batch if c.pk in verdicts},
            key=lambda pair: pair[1],
        ):
            counting.message_click_recompute(
                contact_id=contact_id, message_id=message_id, announce=False
            )
        click_events_reconcile((c.contact_id, c.message_id) for c in batch)
        _flags_raise(flags)
        _clicks_recorded(batch)
    # The fan-out also turns clicks outside this batch (judged before, or another
    # worker's), after the batch commits, a chunk per transaction: one IP flooding an
    # account turns thousands of clicks, and one transaction each held every other
    # account's clicks behind it.
    ordered = sorted(others, key=lambda c: c.pk)
    for start in range(0, len(ordered), OUTSIDE_CHUNK):
        _verdicts_set(ordered[start : start + OUTSIDE_CHUNK], IP_FANOUT)
    return len(batch)


_CLAIMED = (
    "pk", "account_id", "contact_id", "message_id", "short_link_id", "clicked_at", "ip",
    "is_bot", "bot_reason", "message__sent_at", "message__sending_list__scanner_window_seconds",
    "account__bot_ip_fanout_seconds", "account__bot_ip_fanout_contacts", "user_agent",
    "network", "message__sending_list__datacenter_check",
)  # fmt: skip


def _claim(limit: int) -> list[_Judged]:
    """The batch: each account waiting gets a fair share of it (its oldest clicks), then
    what is left of the batch goes to the oldest clicks of any account. One account's
    burst (a scanner flooding its links) so never holds another's clicks behind it.

    Race: two workers claiming together. SKIP LOCKED hands each its own clicks."""
    unjudged = MessageShortLinkClick.objects.filter(judged_at__isnull=True)
    waiting = list(
        unjudged.values("account_id")
        .annotate(first=Min("clicked_at"))
        .order_by("first")
        .values_list("account_id", flat=True)[:FAIR_ACCOUNTS]
    )
    rows: list[tuple] = []
    if len(waiting) > 1:
        share = max(limit // len(waiting), 1)
        for account_id in waiting:
            rows += _locked(unjudged.filter(account_id=account_id))[:share]
    if len(rows) < limit:
        taken = [row[0] for row in rows]
        rows += _locked(unjudged.exclude(pk__in=taken))[: limit - len(rows)]
    return [_Judged(*row) for row in rows]


def _locked(clicks: QuerySet) -> QuerySet:
    return (
        clicks.select_for_update(skip_locked=True, of=("self",))
        .order_by("clicked_at")
        .values_list(*_CLAIMED)
    )


def _turnable(click: _Click, verdicts: dict[int, str]) -> bool:
    return not click.is_bot and click.pk not in verdicts and click.bot_reason != INTERNAL_REASON


def _delivery_scan_check(batch: list[_Judged], verdicts: dict[int, str]) -> None:
    for click in batch:
        window = dt.timedelta(seconds=3 if click.scanner_window is None else click.scanner_window)
        if (
            _turnable(click, verdicts)
            and click.sent_at <= click.clicked_at <= click.sent_at + window
        ):
            verdicts[click.pk] = DELIVERY_SCAN


def _ip_fanout_check(
    batch: list[_Judged], verdicts: dict[int, str]
) -> tuple[list[_Click], list[_Flag]]:
    """Turn the batch's clicks caught by the fan-out rule (in `verdicts`); return the other
    clicks it catches (outside the batch) and the flags to raise. Grouped per (account,
    IP): one query for the batch, then a sliding window over each group's clicks."""
    judged = [c for c in batch if c.ip]
    if not judged:
        return [], []
    span = dt.timedelta(seconds=max(c.fanout_seconds for c in judged))
    own = {c.pk: c for c in batch}
    groups: dict[tuple[int, str], list[_Click]] = defaultdict(list)
    for row in (
        MessageShortLinkClick.objects.filter(
            account_id__in={c.account_id for c in judged},
            ip__in={c.ip for c in judged},
            clicked_at__gte=min(c.clicked_at for c in judged) - span,
            clicked_at__lte=max(c.clicked_at for c in judged) + span,
        )
        .exclude(bot_reason=INTERNAL_REASON)
        .order_by("clicked_at", "pk")
        .values_list(
            "pk", "account_id", "contact_id", "message_id", "short_link_id", "clicked_at", "ip",
            "is_bot", "bot_reason",
        )
    ):  # fmt: skip
        click = own.get(row[0]) or _Click(*row)
        groups[(click.account_id, click.ip)].append(click)  # type: ignore[arg-type]
    caught: dict[int, _Click] = {}
    flags: dict[tuple[int, str], _Flag] = {}
    by_group: dict[tuple[int, str], list[_Judged]] = defaultdict(list)
    for click in judged:
        by_group[(click.account_id, click.ip)].append(click)  # type: ignore[arg-type]
    for key, mine in by_group.items():
        nearby = groups[key]
        times = [c.clicked_at for c in nearby]
        contacts: Counter[int] = Counter()
        lo = hi = 0
        for click in sorted(mine, key=lambda c: (c.clicked_at, c.pk)):
            span = dt.timedelta(seconds=click.fanout_seconds)
            new_lo = bisect.bisect_left(times, click.clicked_at - span)
            new_hi = bisect.bisect_right(times, click.clicked_at + span)
            if new_lo < lo or new_hi < hi:  # another account's span: count afresh
                contacts, lo, hi = Counter(), new_lo, new_lo
            for c in nearby[hi:new_hi]:
                contacts[c.contact_id] += 1
            for c in nearby[lo:new_lo]:
                contacts[c.contact_id] -= 1
                if not contacts[c.contact_id]:
                    del contacts[c.contact_id]
            lo, hi = new_lo, new_hi
            if len(contacts) < click.fanout_contacts:
                continue
            for c in nearby[lo:hi]:
                caught[c.pk] = c
            incident = f"{click.ip}@{click.clicked_at:%Y-%m-%dT%H:%M}"
            flags[(click.account_id, incident)] = _Flag(click, len(contacts), hi - lo)
    others = []
    for pk, c in caught.items():
        if pk in own:
            if _turnable(c, verdicts):
                verdicts[pk] = IP_FANOUT
        elif _turnable(c, verdicts):
            others.append(c)
    return others, [flags[key] for key in sorted(flags)]


def _link_flood_check(batch: list[_Judged], verdicts: dict[int, str]) -> None:
    """The batch's clicks past the per-minute limit on their link: one query for the
    batch's links, then each click's place among its link's clicks."""
    judged = [c for c in batch if _turnable(c, verdicts)]
    if not judged:
        return
    limit = settings.BOT_LINK_CLICKS_PER_MINUTE
    per_link: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    for link_id, clicked_at, pk in (
        MessageShortLinkClick.objects.filter(
            short_link_id__in={c.short_link_id for c in judged},
            clicked_at__gte=min(c.clicked_at for c in judged) - _FLOOD_SPAN,
            clicked_at__lte=max(c.clicked_at for c in judged),
        )
        .order_by("clicked_at", "pk")
        .values_list("short_link_id", "clicked_at", "pk")
    ):
        per_link[link_id].append((clicked_at, pk))
    for click in judged:
        clicks = per_link[click.short_link_id]
        place = bisect.bisect_left(clicks, (click.clicked_at, click.pk))
        first = bisect.bisect_left(clicks, (click.clicked_at - _FLOOD_SPAN, -1))
        if place - first >= limit:
            verdicts[click.pk] = LINK_FLOOD


def _places_complete(batch: list[_Judged]) -> None:
    """The country and network of the batch's clicks written without them (the direct
    write leaves the place to the judge, links.traits; and clicks stored before issue 17),
    stored in one statement per 1,000 (a place looked up again, a private address for
    instance, that is still unknown writes nothing)."""
    placed = []
    for click in batch:
        if click.network:
            continue
        place = click_place(click.ip)
        if place.network or place.country:
            click.network = place.network
            placed.append(
                MessageShortLinkClick(pk=click.pk, country=place.country, network=place.network)
            )
    MessageShortLinkClick.objects.bulk_update(placed, ["country", "network"], batch_size=1000)


def _datacenter_check(batch: list[_Judged], verdicts: dict[int, str]) -> None:
    for click in batch:
        if click.datacenter_check is False or not _turnable(click, verdicts):
            continue
        reason = datacenter_reason(click.network, click.user_agent)
        if reason:
            verdicts[click.pk] = reason


def _flags_raise(flags: list[_Flag]) -> None:
    for flag in flags:
        click = flag.click
        flag_raise(
            account_id=click.account_id,
            kind=FraudFlag.Kind.CLICK_FLOOD,
            key=f"{click.ip}@{click.clicked_at:%Y-%m-%dT%H:%M}",
            ip=click.ip,
            raw_click_id=click.pk,
            evidence={
                "ip": click.ip,
                "contacts": flag.contacts,
                "clicks": flag.clicks,
                "window_seconds": click.fanout_seconds,
                "around": click.clicked_at.isoformat(),
            },
        )


def _clicks_recorded(batch: list[_Judged]) -> None:
    """click.recorded for each click of the batch, with its verdict, for the accounts with
    an enabled endpoint subscribed to it (opt-in, high volume): one query to find them."""
    subscribed = {
        account_id
        for account_id, events in WebhookEndpoint.objects.filter(
            account_id__in={c.account_id for c in batch}, is_enabled=True
        ).values_list("account_id", "events")
        if RECORDED in (events or [])
    }
    if not subscribed:
        return
    accounts = {c.pk: c.account_id for c in batch if c.account_id in subscribed}
    clicks = clicks_load(accounts)
    events_emit(
        NewEvent(
            account_id=accounts[click.pk],
            type=RECORDED,
            data=recorded_data(click),
            occurred_at=click.clicked_at,
        )
        for click in sorted(clicks.values(), key=lambda c: (c.clicked_at, c.pk))
    )


def _verdicts_set(clicks: list[_Click], reason: str) -> None:
    """Turn clicks outside the batch into bots, unless they became ones (or internal)
    since, and correct their pairs' counted clicks and what was told of them, in one
    transaction.

    Race: another worker's batch holding some of these clicks (claimed, not committed).
    The click rows are locked first, in id order, before any message or announcement, so
    this waits for that batch to commit and neither waits on the other in a cycle."""
    with transaction.atomic():
        pks = list(
            MessageShortLinkClick.objects.select_for_update()
            .filter(pk__in=[c.pk for c in clicks], is_bot=False)
            .exclude(bot_reason=INTERNAL_REASON)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if not pks:
            return
        MessageShortLinkClick.objects.filter(pk__in=pks).update(is_bot=True, bot_reason=reason)
        turned = set(pks)
        pairs = sorted(
            {(c.contact_id, c.message_id) for c in clicks if c.pk in turned},
            key=lambda pair: pair[1],
        )
        for contact_id, message_id in pairs:
            counting.message_click_recompute(
                contact_id=contact_id, message_id=message_id, announce=False
            )
        click_events_reconcile(pairs)
