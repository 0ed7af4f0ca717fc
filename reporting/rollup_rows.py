"""The rollup rows, built from the raw rows in SQL: one account's DailyRollup,
BotReasonRollup and TraitRollup rows over a span of local days, and the MessageRollup rows
of a batch of messages. reporting.services runs them (claiming the stale parts, isolating
failures); what each figure counts is in reporting.metrics and reporting.credit."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    DateField,
    DecimalField,
    Exists,
    F,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, TruncDate
from django.utils import timezone

from core.models import Account, Message
from core.retention import retention_cutoff
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick
from reporting.credit import (
    CREDIT,
    VIEW_THROUGH,
    click_credited_conversions,
    conversion_kind,
    counted_conversions,
    pending_conversions,
    view_through_conversions,
)
from reporting.models import (
    FIGURES,
    TRAIT_DIMENSIONS,
    TRAIT_NO_CLICK,
    BotReasonRollup,
    DailyRollup,
    MessageRollup,
    PrunedClicks,
    TraitRollup,
)

Slice = tuple[dt.date, int | None, int | None, int | None, int | None]  # day, c, cr, list, offer
TraitSlice = tuple[dt.date, int | None, int | None, int | None, int | None, str, str]  # + trait


def days_rebuild(
    account_id: int,
    tz: zoneinfo.ZoneInfo,
    first: dt.date | None,
    last: dt.date | None,
    *,
    since: dt.datetime | None = None,
) -> int:
    """Rebuild the DailyRollup, BotReasonRollup and TraitRollup rows of one account from `first` to
    `last` (local days, inclusive; None: every day). With `since` (a time-zone change:
    reporting.services), every day from `first` on, from the rows at or after `since` alone,
    a row whose day in `tz` is before `first` going to `first`. Returns how many days now
    have rows."""
    slices: dict[Slice, dict[str, Any]] = defaultdict(dict)

    def within(queryset: QuerySet, column: str) -> QuerySet:
        queryset = queryset.filter(account_id=account_id)
        if since is not None:
            day = Greatest(TruncDate(column, tzinfo=tz), Value(first), output_field=DateField())
            return queryset.filter(**{f"{column}__gte": since}).annotate(day=day)
        if first is not None and last is not None:
            # A day's UTC bounds, widened by a day on each side (DST, odd offsets); the
            # exact cut is the local day computed by the database below. Open at the ends
            # of the calendar, where a day more is past what a Python date holds.
            if first > dt.date.min + dt.timedelta(days=2):
                low = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(), tz)
                queryset = queryset.filter(**{f"{column}__gte": low})
            if last < dt.date.max - dt.timedelta(days=3):
                high = dt.datetime.combine(last + dt.timedelta(days=2), dt.time(), tz)
                queryset = queryset.filter(**{f"{column}__lt": high})
        queryset = queryset.annotate(day=TruncDate(column, tzinfo=tz))
        if first is not None:
            queryset = queryset.filter(day__range=(first, last))
        return queryset

    def add(key: Slice, **counts: int | Decimal) -> None:
        row = slices[key]
        for name, value in counts.items():
            row[name] = row.get(name, 0) + (value or 0)

    traits: dict[TraitSlice, dict[str, Any]] = defaultdict(dict)

    pruned = _pruned_days(account_id, tz, first, last)

    def trait_add(key: Slice, values: Mapping[str, str | None], **counts: int | Decimal) -> None:
        """Add to the row of each trait dimension in `values` (NULL counted as "")."""
        if key[0] in pruned:
            return  # its stored trait rows stay (see below)
        for dimension, value in values.items():
            row = traits[(*key, dimension, value or "")]
            for name, count in counts.items():
                row[name] = row.get(name, 0) + (count or 0)

    # Sends and cost: once per message on its first offer's row, and once per offer it
    # carries.
    for r in (
        within(Message.objects.all(), "sent_at")
        .annotate(first_offer=first_offer("pk"))
        .values("day", "campaign_id", "creative_id", "sending_list_id", "first_offer")
        .annotate(n=Count("id"), cost=Sum("cost"))
    ):
        key = (r["day"], r["campaign_id"], r["creative_id"], r["sending_list_id"], r["first_offer"])
        alone = r["first_offer"] is None  # carries no offer: its own offer-NULL row
        add(
            key,
            sends=r["n"],
            cost=r["cost"],
            offer_sends=r["n"] if alone else 0,
            offer_cost=r["cost"] if alone else 0,
        )
    by_message = ("day", "message__campaign_id", "message__creative_id", "message__sending_list_id")
    # One link per message and offer (its first): the message's send and cost for that offer.
    for r in (
        within(_first_links("offer_id"), "message__sent_at")
        .values(*by_message, "offer_id")
        .annotate(n=Count("id"), cost=Sum("message__cost"))
    ):
        add(_key(r, "offer_id"), offer_sends=r["n"], offer_cost=r["cost"])
    # A variant's sends and cost: the messages carrying a link of the offer with that variant.
    for r in (
        within(_first_links("offer_id", "variant"), "message__sent_at")
        .values(*by_message, "offer_id", "variant")
        .annotate(n=Count("id"), cost=Sum("message__cost"))
    ):
        trait_add(_key(r, "offer_id"), {"variants": r["variant"]}, sends=r["n"], cost=r["cost"])
    # The clicks, unique clicks and conversions queries group by the click traits too,
    # so that one scan of each table builds both rollups.
    for r in (
        within(MessageShortLinkClick.objects.all(), "clicked_at")
        .values(*by_message, "short_link__offer_id", *_TRAIT_COLUMNS)
        .annotate(raw=Count("id"), bots=Count("id", filter=Q(is_bot=True)))
    ):
        key = _key(r, "short_link__offer_id")
        add(key, raw_clicks=r["raw"], bot_clicks=r["bots"])
        trait_add(key, _traits(r, ""), raw_clicks=r["raw"], bot_clicks=r["bots"])
    # A day whose raw clicks retention deleted keeps its stored raw and bot clicks.
    stored = DailyRollup.objects.filter(account_id=account_id, day__in=pruned)
    for r in stored.values(
        "day",
        "campaign_id",
        "creative_id",
        "sending_list_id",
        "offer_id",
        "raw_clicks",
        "bot_clicks",
    ):
        key = (r["day"], r["campaign_id"], r["creative_id"], r["sending_list_id"], r["offer_id"])
        add(key, raw_clicks=r["raw_clicks"], bot_clicks=r["bot_clicks"])
    # Counted clicks carry their raw click's traits (links.counting.KEPT_TRAITS): they
    # outlive the raw click that retention prunes.
    for r in (
        within(MessageClick.objects.all(), "clicked_at")
        .values(*by_message, "offer_id", *_TRAIT_COLUMNS)
        .annotate(n=Count("id"))
    ):
        add(_key(r, "offer_id"), unique_clicks=r["n"])
        trait_add(_key(r, "offer_id"), _traits(r, ""), unique_clicks=r["n"])
    for r in (
        within(counted_conversions(), "occurred_at")
        .values(
            *by_message,
            "offer_id",
            "attribution_type",
            "approval",
            *_traits_through("message_click"),
        )  # fmt: skip
        .annotate(n=Count("id"), revenue=Sum("revenue"), payout=Sum("payout"))
    ):
        key = _key(r, "offer_id")
        # A conversion falls on its credited (counted) click's traits, kept on the counted
        # click when the raw click is pruned; one with no click (view-through, or its
        # counted click deleted) on TRAIT_NO_CLICK's.
        clicked = r["attribution_type"] != VIEW_THROUGH and r["message_click__device"] is not None
        credited = _traits(r, "message_click__") if clicked else TRAIT_NO_CLICK
        counts = _conversion_counts(r)
        add(key, **counts)
        trait_add(key, credited, **counts)

    # Bot clicks by reason (reporting 0003's index answers this alone).
    reasons = (
        within(MessageShortLinkClick.objects.filter(is_bot=True), "clicked_at")
        .exclude(day__in=pruned)
        .values_list("day", "bot_reason")
        .annotate(n=Count("*"))
        .order_by()
    )

    for model in (DailyRollup, BotReasonRollup, TraitRollup):
        stale = _days(model.objects.filter(account_id=account_id), first, last)
        if model is not DailyRollup:
            # A pruned day's trait and bot-reason rows were built from its raw clicks:
            # they stay as they are.
            stale = stale.exclude(day__in=pruned)
        stale.delete()
    BotReasonRollup.objects.bulk_create(
        [
            BotReasonRollup(account_id=account_id, day=day, bot_reason=reason, clicks=n)
            for day, reason, n in reasons
        ],
        batch_size=2000,
    )
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
    TraitRollup.objects.bulk_create(
        [
            TraitRollup(
                account_id=account_id,
                day=day,
                campaign_id=campaign,
                creative_id=creative,
                sending_list_id=sending_list,
                offer_id=offer,
                dimension=dimension,
                key=value,
                **counts,
            )
            for (day, campaign, creative, sending_list, offer, dimension, value), counts in (
                traits.items()
            )
        ],
        batch_size=2000,
    )
    return len({key[0] for key in slices})


_TRAIT_COLUMNS = tuple(TRAIT_DIMENSIONS.values())


def _pruned_days(
    account_id: int, tz: zoneinfo.ZoneInfo, first: dt.date | None, last: dt.date | None
) -> set[dt.date]:
    """The days in range past the account's retention (core.retention) whose stored rollup
    counts raw clicks that are no longer there: retention deleted them. A day past
    retention whose raw clicks are still there (retention has not run yet) is rebuilt from
    them as any other. Both reads are small: rollup rows of old days, and an index range
    of raw clicks before the cutoff (empty once retention has run)."""
    account = Account.objects.values("data_retention_days", "time_zone").get(pk=account_id)
    cutoff = retention_cutoff(account["data_retention_days"], account["time_zone"], timezone.now())
    stored = _days(
        DailyRollup.objects.filter(account_id=account_id, day__lt=cutoff.date(), raw_clicks__gt=0),
        first,
        last,
    )
    days = set(stored.values_list("day", flat=True).distinct())
    if not days:
        return days
    still = (
        MessageShortLinkClick.objects.filter(account_id=account_id, clicked_at__lt=cutoff)
        .annotate(day=TruncDate("clicked_at", tzinfo=tz))
        .values_list("day", flat=True)
        .distinct()
    )
    return days - set(still)


def _days(queryset: QuerySet, first: dt.date | None, last: dt.date | None) -> QuerySet:
    """Rollup rows from `first` to `last` (None: every day; `last` None: from `first` on)."""
    if first is None:
        return queryset
    if last is None:
        return queryset.filter(day__gte=first)
    return queryset.filter(day__range=(first, last))


def _conversion_counts(row: Mapping[str, Any]) -> dict[str, Any]:
    """What a group of counted conversions (n, revenue, payout, by attribution type and
    approval) adds to, as reporting.credit.CREDIT says."""
    count, revenue, payout = CREDIT[conversion_kind(row["attribution_type"], row["approval"])]
    counts = {count: row["n"], revenue: row["revenue"]}
    if payout is not None:
        counts[payout] = row["payout"]
    return counts


def _first_links(*columns: str) -> QuerySet[MessageShortLink]:
    """Offer-bound links, only the first of each message with the same `columns` (so a
    message counts once per offer, or per offer and variant, however many links it has)."""
    earlier = MessageShortLink.objects.filter(
        message_id=OuterRef("message_id"),
        id__lt=OuterRef("id"),
        **{column: OuterRef(column) for column in columns},
    )
    return MessageShortLink.objects.filter(offer__isnull=False).exclude(Exists(earlier))


def _traits_through(relation: str) -> tuple[str, ...]:
    return tuple(f"{relation}__{column}" for column in _TRAIT_COLUMNS)


def _traits(row: Mapping[str, Any], prefix: str) -> dict[str, str | None]:
    """A grouped row's click traits by dimension, read from `prefix` + the click column."""
    return {d: row[f"{prefix}{column}"] for d, column in TRAIT_DIMENSIONS.items()}


def _key(row: dict[str, Any], offer: str) -> Slice:
    return (
        row["day"],
        row["message__campaign_id"],
        row["message__creative_id"],
        row["message__sending_list_id"],
        row[offer],
    )


def first_offer(message: str) -> Subquery:
    """The offer of a message's first offer-bound link (NULL: it has none)."""
    return Subquery(
        MessageShortLink.objects.filter(message=OuterRef(message), offer__isnull=False)
        .order_by("id")
        .values("offer_id")[:1]
    )


def account_messages_rebuild(
    tz: zoneinfo.ZoneInfo, message_ids: list[int], *, several: set[int]
) -> int:
    """Replace the MessageRollup rows of these messages of one account (in zone `tz`), by
    INSERT ... SELECT, the figures as correlated subqueries."""
    MessageRollup.objects.filter(message_id__in=message_ids).delete()
    several = several.intersection(message_ids)
    firsts = (
        Message.objects.filter(pk__in=message_ids)
        .annotate(
            offer=first_offer("pk"),
            first=Value(True),
            day=TruncDate("sent_at", tzinfo=tz),
            **_message_figures("pk"),
            figure_cost=F("cost"),
        )
        .values_list(
            "pk",
            "offer",
            "first",
            "account_id",
            "day",
            "sent_at",
            "campaign_id",
            "creative_id",
            "sending_list_id",
            "contact_id",
            "external_id",
            *(f"figure_{f}" for f in _MESSAGE_FIGURES),
        )  # fmt: skip
    )
    others = (
        MessageShortLink.objects.filter(message_id__in=several, offer__isnull=False)
        .exclude(offer_id=first_offer("message_id"))
        .annotate(
            first=Value(False),
            day=TruncDate("message__sent_at", tzinfo=tz),
            **_message_figures("message_id"),
            figure_cost=F("message__cost"),
        )
        .values_list(
            "message_id",
            "offer_id",
            "first",
            "account_id",
            "day",
            "message__sent_at",
            "message__campaign_id",
            "message__creative_id",
            "message__sending_list_id",
            "message__contact_id",
            "message__external_id",
            *(f"figure_{f}" for f in _MESSAGE_FIGURES),
        )  # fmt: skip
        .distinct()
    )
    rebuilt = _insert_select(MessageRollup, _MESSAGE_ROLLUP_COLUMNS, firsts.order_by())
    if several:
        _insert_select(MessageRollup, _MESSAGE_ROLLUP_COLUMNS, others.order_by())
    return rebuilt


_MESSAGE_FIGURES = (*FIGURES, "cost")
_MESSAGE_ROLLUP_COLUMNS = (
    "message_id", "offer_id", "is_first_offer", "account_id", "day", "sent_at", "campaign_id",
    "creative_id", "sending_list_id", "contact_id", "external_id", *_MESSAGE_FIGURES,
)  # fmt: skip


def _insert_select(model: type[Model], columns: Iterable[str], select: QuerySet) -> int:
    """INSERT INTO model's table (columns) <the SELECT the ORM compiles for `select`>: the
    rows never travel through Python. `select` yields the columns in the same order."""
    sql, params = select.query.sql_with_params()
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Each row is a dozen index lookups (a subquery a figure, on every partition of
            # the raw clicks); the planner's estimate for a batch crosses the JIT threshold
            # and compiling took most of the statement: 500 messages in 421 ms with it, 42
            # without (2026-12-03, 1M raw clicks). Until the build step's transaction ends.
            cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"INSERT INTO {quote(model._meta.db_table)} ({names}) {sql}", params)  # noqa: S608
        return cursor.rowcount


def _message_figures(message: str) -> dict[str, Any]:
    """One subquery per figure of a message (each an index lookup by message)."""

    def one(queryset: QuerySet, aggregate: Any, zero: Any = 0) -> Coalesce:
        rows = queryset.filter(message_id=OuterRef(message)).order_by().values("message_id")
        return Coalesce(Subquery(rows.annotate(v=aggregate).values("v")), zero)

    def pruned(column: str) -> Coalesce:
        rows = PrunedClicks.objects.filter(message_id=OuterRef(message)).values(column)
        return Coalesce(Subquery(rows), 0)

    clicks = MessageShortLinkClick.objects.all()
    money = Value(Decimal(0), output_field=DecimalField(max_digits=20, decimal_places=4))
    figures = {
        # With the clicks retention deleted (PrunedClicks) added back.
        "figure_raw_clicks": one(clicks, Count("pk")) + pruned("raw_clicks"),
        "figure_bot_clicks": one(clicks.filter(is_bot=True), Count("pk")) + pruned("bot_clicks"),
        "figure_unique_clicks": one(MessageClick.objects.all(), Count("pk")),
    }
    kinds = {
        "credited": click_credited_conversions(),
        "view_through": view_through_conversions(),
        "pending": pending_conversions(),
    }
    for kind, conversions in kinds.items():
        count, revenue, payout = CREDIT[kind]
        figures[f"figure_{count}"] = one(conversions, Count("pk"))
        figures[f"figure_{revenue}"] = one(conversions, Sum("revenue"), money)
        if payout is not None:
            figures[f"figure_{payout}"] = one(conversions, Sum("payout"), money)
    return figures
