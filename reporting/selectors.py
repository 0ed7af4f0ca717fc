"""Reads across apps for the API, the reports and the dashboard."""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Count, F, FloatField, QuerySet, Sum
from django.db.models.functions import Cast, NullIf
from django.utils import timezone

from attribution.models import Conversion
from core import bounds
from core.models import Account, Campaign, Contact, Creative, Message, Offer, SendingList
from links.models import MessageShortLinkClick
from reporting.credit import click_credited_conversions
from reporting.metrics import COLUMNS, COUNT_FIELDS, derive
from reporting.models import FIGURES, DailyRollup, MessageRollup

DIMENSIONS = ("campaigns", "creatives", "offers", "lists", "days", "messages")
DEFAULT_PAGE_SIZE = 100
MAX_ID = 2**63 - 1


class ReportParamError(ValueError):
    """A report parameter that cannot be used; `param` names it, `message` says why."""

    status = 400

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


class ReportObjectNotFound(ReportParamError):
    """A filter names an object that does not exist in the account (or is another's)."""

    status = 404


@dataclass(frozen=True)
class ReportFilters:
    start: dt.date | None = None  # inclusive, a day in the account's time zone
    end: dt.date | None = None  # inclusive
    campaign: int | None = None
    creative: int | None = None
    offer: int | None = None
    list: int | None = None

    ID_PARAMS = ("campaign", "creative", "offer", "list")

    @classmethod
    def from_params(cls, params: Mapping[str, str], *, today: dt.date) -> ReportFilters:
        """Parse query parameters; raises ReportParamError naming the first bad one. The
        days are days_parse's, `today` in the account's time zone (local_today)."""
        values: dict[str, Any] = {}
        values["start"], values["end"] = days_parse(params, today=today)
        for name in cls.ID_PARAMS:
            raw = (params.get(name) or "").strip()
            if raw:
                values[name] = parse_id(name, raw)
        return cls(**values)

    def as_params(self) -> dict[str, str | None]:
        return {
            k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(self).items()
        }


def local_today(account: Account) -> dt.date:
    """Today in the account's time zone, the day its reports end on by default."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(account.time_zone)).date()


def days_parse(
    params: Mapping[str, str],
    *,
    today: dt.date,
    default_span_days: int | None = bounds.REPORT_MAX_SPAN_DAYS,
) -> tuple[dt.date | None, dt.date | None]:
    """`start` and `end` (YYYY-MM-DD, inclusive local days) as every report, list and page
    reads them: held to core.bounds.day_range, which fills in what is missing. Raises
    ReportParamError naming the bad one."""
    days: dict[str, dt.date | None] = {}
    for name in ("start", "end"):
        raw = (params.get(name) or "").strip()
        days[name] = None
        if raw:
            try:
                days[name] = dt.date.fromisoformat(raw)
            except ValueError:
                raise ReportParamError(name, "Must be a date, YYYY-MM-DD.") from None
            if len(raw) != 10:
                raise ReportParamError(name, "Must be a date, YYYY-MM-DD.")
    try:
        return bounds.day_range(
            days["start"], days["end"], today=today, default_span_days=default_span_days
        )
    except bounds.OutOfBounds as exc:
        raise ReportParamError(exc.field, exc.message) from None


def day_bounds(
    account: Account, start: dt.date | None, end: dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[start 00:00, the day after end 00:00) in the account's time zone (None: open)."""
    tz = zoneinfo.ZoneInfo(account.time_zone)
    lower = dt.datetime.combine(start, dt.time(), tz) if start else None
    upper = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz) if end else None
    return lower, upper


def parse_id(name: str, raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ID:
        raise ReportParamError(name, "Must be an id (a positive integer).")
    return int(raw)


@dataclass
class Report:
    dimension: str
    columns: list[str]  # "key", "label", any extra columns of the dimension, then COLUMNS
    rows: list[dict[str, Any]]
    totals: dict[str, Any]  # COLUMNS over every row that matched, not only this page
    count: int  # rows before paging
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE
    filters: ReportFilters = field(default_factory=ReportFilters)


def report(
    account: Account,
    dimension: str,
    filters: ReportFilters,
    *,
    order: str | None = None,
    page: int | None = None,
    page_size: int | None = None,
) -> Report:
    """One report: a row per campaign, creative, offer, list, day or message, with totals.

    `order` is a column name ("key", "label" or one of COLUMNS), "-" in front for
    descending; None is each dimension's natural order. `page` is 1-based; with neither
    page nor page_size every row comes back (exports use report_export, which streams).
    Raises ReportParamError (or ReportObjectNotFound) naming a bad argument.
    """
    sort = _report_check(account, dimension, filters, order=order)
    if page is not None and page < 1:
        raise ReportParamError("page", "Must be 1 or more.")
    paged = page is not None or page_size is not None
    page, page_size = page or 1, page_size or DEFAULT_PAGE_SIZE
    try:
        offset = (page - 1) * page_size
        bounds.page_check(
            size_field="page_size", size=page_size, offset_field="page", offset=offset
        )
    except bounds.OutOfBounds as exc:
        raise ReportParamError(exc.field, exc.message) from None
    totals = _report_totals(account, dimension, filters)
    if dimension == "messages":
        ordered = _messages(account, filters).order_by(*_message_order(sort))
        if paged:
            ordered = ordered[(page - 1) * page_size : page * page_size]
        rows = [_message_row(r) for r in ordered.values(*_MESSAGE_VALUES)]
        count = totals["sends"]
    else:
        rows = _grouped_rows(account, dimension, filters, sort)
        count = len(rows)
        if paged:
            rows = rows[(page - 1) * page_size : page * page_size]
    return Report(
        dimension=dimension,
        columns=report_columns(dimension),
        rows=rows,
        totals=totals,
        count=count,
        page=page,
        page_size=page_size if paged else max(count, 1),
        filters=filters,
    )


def report_export(
    account: Account, dimension: str, filters: ReportFilters, *, order: str | None = None
) -> tuple[Iterator[dict[str, Any]], Callable[[], dict[str, Any]]]:
    """Every row of a report, streamed (the messages report can be a million rows), and a
    function that sums the totals, for an export to call once the rows are out: its first
    bytes wait for neither. Raises ReportParamError (or ReportObjectNotFound) at once."""
    if dimension != "messages":
        summary = report(account, dimension, filters, order=order)
        return iter(summary.rows), functools.partial(dict, summary.totals)
    sort = _report_check(account, dimension, filters, order=order)
    queryset = _messages(account, filters).order_by(*_message_order(sort))
    rows = map(_message_row, streamed(queryset.values(*_MESSAGE_VALUES)))
    return rows, functools.partial(_report_totals, account, dimension, filters)


def report_columns(dimension: str) -> list[str]:
    return ["key", "label", *EXTRA_COLUMNS.get(dimension, ()), *COLUMNS]


def _report_check(
    account: Account, dimension: str, filters: ReportFilters, *, order: str | None = None
) -> tuple[str, bool] | None:
    """Raise ReportParamError (or ReportObjectNotFound) naming a bad argument; return the
    parsed order."""
    if dimension not in DIMENSIONS:
        raise ReportParamError("dimension", f"Must be one of {', '.join(DIMENSIONS)}.")
    filters_check(account, filters)
    return _order_parse(order, dimension)


def _report_totals(account: Account, dimension: str, filters: ReportFilters) -> dict[str, Any]:
    """COLUMNS over every row of the report."""
    if dimension == "messages":
        totals = _messages(account, filters).aggregate(sends=Count("pk"), **_sums(FIGURES))
    else:
        totals = _daily(account, filters).aggregate(
            **_sums(FIGURES), sends=Sum("offer_sends" if filters.offer else "sends")
        )
    return derive(totals)


def streamed(queryset: QuerySet, *, chunk_size: int = 2000) -> Iterator[Any]:
    """Every row of a queryset in its order, read a chunk at a time, for exports that
    start answering before the query has run to its end.

    On PostgreSQL .iterator() reads through a server-side cursor. Outside a transaction
    Django declares it WITH HOLD, and PostgreSQL then runs the whole query, keeping every
    row, before the first comes back (seconds at a million rows). Inside one it runs the
    plan only as far as it is read, and plans for the first rows: an export in index order
    starts at once. The transaction, which only reads, lasts as long as the download (a
    client that goes away closes the generator, which rolls it back).
    """
    if connections[queryset.db].vendor != "postgresql":
        # SQLite's transactions here are IMMEDIATE: one would hold off every writer.
        yield from queryset.iterator(chunk_size=chunk_size)
        return
    with transaction.atomic(using=queryset.db):
        # A stalled client must not hold the snapshot (and its locks, which a migration
        # would queue behind) for ever: PostgreSQL ends the transaction after this long
        # idle between reads, and the download is cut off.
        with connections[queryset.db].cursor() as cursor:
            cursor.execute(
                "SELECT set_config('idle_in_transaction_session_timeout', %s, true)",
                [f"{settings.EXPORT_IDLE_SECONDS}s"],
            )
        yield from queryset.iterator(chunk_size=chunk_size)


def daily_series(account: Account, filters: ReportFilters) -> list[dict[str, Any]]:
    """One row per day from start to end, days with nothing as zeros (start and end
    default to the first and last day with figures): day and the COUNT_FIELDS. For the
    overview chart."""
    filters_check(account, filters)
    by_day = {
        r["day"]: r
        for r in _daily(account, filters)
        .values("day")
        .annotate(**_sums(FIGURES), sends=Sum("offer_sends" if filters.offer else "sends"))
        .order_by("day")
    }
    first = filters.start or min(by_day, default=None)
    last = filters.end or max(by_day, default=None)
    if first is None or last is None:
        return []
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    return [{"day": day, **_counts(by_day.get(day, {}))} for day in days]


# --- reports: the parts ---------------------------------------------------------------

EXTRA_COLUMNS = {"messages": ("sent_at", "contact_id")}
# dimension -> (DailyRollup column, its label through the join, label when it is empty)
_GROUPS = {
    "campaigns": ("campaign_id", "campaign__name", "No campaign"),
    "creatives": ("creative_id", "creative__name", "No creative"),
    "offers": ("offer_id", "offer__name", "No offer"),
    "lists": ("sending_list_id", "sending_list__name", "No list"),
}
_FILTER_MODELS = {"campaign": Campaign, "creative": Creative, "offer": Offer, "list": SendingList}
_MESSAGE_VALUES = ("message_id", "external_id", "contact_id", "sent_at", *FIGURES)


def filters_check(account: Account, filters: ReportFilters) -> None:
    """Every object a filter names must be the account's: else 404, naming the filter,
    whether it is another account's or does not exist (the two look the same)."""
    for name, model in _FILTER_MODELS.items():
        pk = getattr(filters, name)
        if pk is not None and not model.objects.filter(pk=pk, account=account).exists():
            raise ReportObjectNotFound(name, f"No {name} {pk} in this account.")


def _sums(fields: Iterable[str]) -> dict[str, Sum]:
    return {f: Sum(f) for f in fields}


def _counts(row: Mapping[str, Any]) -> dict[str, int | Decimal]:
    derived = derive(row)
    return {f: derived[f] for f in COUNT_FIELDS}


_FILTER_COLUMNS = {
    "campaign": "campaign_id",
    "creative": "creative_id",
    "offer": "offer_id",
    "list": "sending_list_id",
}


def _filtered(queryset: QuerySet, filters: ReportFilters, names: Iterable[str]) -> QuerySet:
    """A rollup queryset narrowed to the filters' days and to the named dimensions."""
    if filters.start:
        queryset = queryset.filter(day__gte=filters.start)
    if filters.end:
        queryset = queryset.filter(day__lte=filters.end)
    for name in names:
        if getattr(filters, name) is not None:
            queryset = queryset.filter(**{_FILTER_COLUMNS[name]: getattr(filters, name)})
    return queryset


def _daily(account: Account, filters: ReportFilters) -> QuerySet[DailyRollup]:
    return _filtered(DailyRollup.objects.filter(account=account), filters, _FILTER_COLUMNS)


def _grouped_rows(
    account: Account, dimension: str, filters: ReportFilters, sort: tuple[str, bool] | None
) -> list[dict[str, Any]]:
    # A message is a send of every offer it carries, in the offers report and whenever an
    # offer filter applies; otherwise once (DailyRollup).
    sends = Sum("offer_sends" if filters.offer or dimension == "offers" else "sends")
    queryset = _daily(account, filters)
    rows = []
    if dimension == "days":
        for r in queryset.values("day").annotate(**_sums(FIGURES), sends=sends):
            day = r["day"].isoformat()
            rows.append({"key": day, "label": day, **derive(r)})
        natural: tuple[str, bool] = ("key", False)
    else:
        column, name, empty = _GROUPS[dimension]
        for r in queryset.values(column, name).annotate(**_sums(FIGURES), sends=sends):
            key = r[column]
            label = r[name] if key is None or r[name] is not None else f"#{key} (deleted)"
            rows.append({"key": key, "label": label or empty, **derive(r)})
        natural = ("label", False)
    rows.sort(key=lambda r: (r["key"] is None, str(r["key"])))
    return _sorted(rows, sort or natural)


def _sorted(rows: list[dict[str, Any]], sort: tuple[str, bool]) -> list[dict[str, Any]]:
    """Stable sort on one column; empty values (a ratio over zero) last either way."""
    column, descending = sort
    present = [r for r in rows if r[column] is not None]
    empty = [r for r in rows if r[column] is None]
    present.sort(key=lambda r: r[column], reverse=descending)
    return present + empty


def _order_parse(order: str | None, dimension: str) -> tuple[str, bool] | None:
    if not order:
        return None
    column = order.removeprefix("-")
    allowed = ("key", "label", *EXTRA_COLUMNS.get(dimension, ()), *COLUMNS)
    if column not in allowed:
        raise ReportParamError("order", f"Must be a column: {', '.join(allowed)}.")
    return column, order.startswith("-")


def _messages(account: Account, filters: ReportFilters) -> QuerySet[MessageRollup]:
    queryset = _filtered(
        MessageRollup.objects.filter(account=account), filters, ("campaign", "creative", "list")
    )
    # A message has a row per offer it carries: one of them without an offer filter.
    if filters.offer is not None:
        return queryset.filter(offer_id=filters.offer)
    return queryset.filter(is_first_offer=True)


def _per(numerator: str, denominator: str) -> Any:
    return Cast(numerator, FloatField()) / NullIf(F(denominator), 0)


# What the messages report sorts on in SQL; each message is one send, so a ratio over
# sends sorts as its numerator.
_MESSAGE_SORT: dict[str, Any] = {
    "key": F("message_id"),
    "label": F("external_id"),
    "sent_at": F("sent_at"),
    "contact_id": F("contact_id"),
    "sends": F("message_id"),
    **{f: F(f) for f in FIGURES},
    "click_rate": F("unique_clicks"),
    "bot_pct": _per("bot_clicks", "raw_clicks"),
    "ctcr": _per("conversions", "unique_clicks"),
    "epc": _per("revenue", "unique_clicks"),
    "revenue_per_send": F("revenue"),
}
_MESSAGE_NEWEST = ("-day", "-sent_at", "-message_id")


def _message_order(sort: tuple[str, bool] | None) -> list[Any]:
    if sort is None:
        return list(_MESSAGE_NEWEST)
    column, descending = sort
    expression = _MESSAGE_SORT[column]
    first = expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
    return [first, *_MESSAGE_NEWEST]


def _message_row(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "key": r["message_id"],
        "label": r["external_id"] or f"message {r['message_id']}",
        "sent_at": _iso(r["sent_at"]),
        "contact_id": r["contact_id"],
        **derive({**r, "sends": 1}),
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _money(value: Decimal | None) -> str:
    return f"{(value or Decimal(0)):.2f}"


def message_conversion_summary(message: Message) -> dict[str, Any]:
    """Conversions credited to the message through a click, and their revenue."""
    totals = (
        click_credited_conversions()
        .filter(message=message)
        .aggregate(n=Count("id"), revenue=Sum("revenue"))
    )
    return {
        "converted": totals["n"] > 0,
        "conversions": totals["n"],
        "revenue": _money(totals["revenue"]),
    }


def conversions_for(
    account: Account, params: Mapping[str, str], *, start: dt.date | None, end: dt.date | None
) -> QuerySet[Conversion]:
    """The account's conversions that occurred from `start` to `end` (local days, None:
    open), newest first, narrowed by the list's other filters."""
    queryset = Conversion.objects.filter(account=account).order_by("-occurred_at", "-id")
    lower, upper = day_bounds(account, start, end)
    if lower:
        queryset = queryset.filter(occurred_at__gte=lower)
    if upper:
        queryset = queryset.filter(occurred_at__lt=upper)
    filters = {
        "offer": "offer_id",
        "campaign": "campaign_id",
        "creative": "creative_id",
        "message": "message_id",
        "contact": "contact_id",
        "status": "status",
        "attribution": "attribution_type",
        "event": "event",
    }
    for param, lookup in filters.items():
        if params.get(param):
            queryset = queryset.filter(**{lookup: params[param]})
    return queryset


def conversion_row(conversion: Conversion) -> dict[str, Any]:
    return {
        "id": conversion.pk,
        "event": conversion.event,
        "txn_id": conversion.txn_id,
        "revenue": _money(conversion.revenue),
        "currency": conversion.currency,
        "occurred_at": _iso(conversion.occurred_at),
        "received_at": _iso(conversion.received_at),
        "status": conversion.status,
        "attribution_type": conversion.attribution_type,
        "reason": conversion.unattributed_reason,
        "message_id": conversion.message_id,
        "contact_id": conversion.contact_id,
        "offer_id": conversion.offer_id,
        "campaign_id": conversion.campaign_id,
        "creative_id": conversion.creative_id,
    }


def contact_journey(contact: Contact) -> dict[str, Any]:
    """Messages received, clicks and conversions of a contact, in time order."""
    events: list[tuple[dt.datetime, int, dict[str, Any]]] = []
    for m in Message.objects.filter(contact=contact).select_related("campaign").order_by("sent_at"):
        events.append((m.sent_at, 0, {
            "type": "message", "at": _iso(m.sent_at), "message_id": m.pk,
            "external_id": m.external_id, "channel": m.channel,
            "campaign": m.campaign.name if m.campaign else None,
        }))  # fmt: skip
    counted = set(contact.message_clicks.values_list("click_id", flat=True))
    for c in MessageShortLinkClick.objects.filter(contact=contact).select_related("link"):
        events.append((c.clicked_at, 1, {
            "type": "click", "at": _iso(c.clicked_at), "click_id": c.click_id,
            "message_id": c.message_id, "link_id": c.link.link_id, "is_bot": c.is_bot,
            "bot_reason": c.bot_reason, "counted": c.pk in counted,
        }))  # fmt: skip
    conversions = list(Conversion.objects.filter(contact=contact))
    for conversion in conversions:
        events.append(
            (conversion.occurred_at, 2, {"type": "conversion", **conversion_row(conversion)})
        )
    events.sort(key=lambda e: (e[0], e[1]))
    revenue = sum(
        (c.revenue for c in conversions if c.status == Conversion.Status.ACCEPTED), Decimal(0)
    )
    return {
        "contact": {
            "id": contact.pk, "external_id": contact.external_id,
            "phone": contact.phone, "email": contact.email,
        },
        "total_revenue": _money(revenue),
        "events": [event for _, _, event in events],
    }  # fmt: skip
