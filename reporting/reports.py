"""The reports: a row per campaign, creative, offer, list, day, message, device, OS,
country or A/B variant, with totals and the overview's daily series, read from the
rollups. The figures are reporting.metrics'; the API, the dashboard and CSV all read
reports from here."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, F, FloatField, Q, QuerySet, Sum, Value
from django.db.models.functions import Cast, NullIf

from core import bounds
from core.models import Account
from reporting.metrics import COLUMNS, COUNT_FIELDS, DIFFERENCES, RATIOS, derive, per_send_cleared
from reporting.models import (
    FIGURES,
    TRAIT_DIMENSIONS,
    DailyRollup,
    MessageDayRollup,
    MessageRollup,
    MonthRollup,
    TraitMonthRollup,
    TraitRollup,
)
from reporting.report_params import ReportFilters, ReportParamError, filters_check
from reporting.selectors import iso
from reporting.streaming import streamed

# The reports cut by a click trait (TraitRollup). The variants report is one offer's.
TRAIT_REPORTS = tuple(TRAIT_DIMENSIONS)
# Those whose rows have no sends: a send has no device, OS or country.
CLICK_ONLY_REPORTS = ("devices", "os", "countries")
DIMENSIONS = ("campaigns", "creatives", "offers", "lists", "days", "messages", *TRAIT_REPORTS)


DEFAULT_PAGE_SIZE = 100


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
    if dimension == "variants" and filters.offer is None:
        raise ReportParamError("offer", "The variants report is one offer's: give offer=<id>.")
    filters_check(account, filters)
    return _order_parse(order, dimension)


def _report_totals(account: Account, dimension: str, filters: ReportFilters) -> dict[str, Any]:
    """COLUMNS over every row of the report."""
    if dimension == "messages":
        totals = _message_totals(account, filters)
    else:
        sums = {**_sums(FIGURES), **_sends(per_offer=filters.offer is not None)}
        totals = _summed(_spans(account, filters), (), sums)[0]
    # A trait report's rows split the same clicks and conversions (each falls on one key):
    # its totals are DailyRollup's, those of a variants report the offer's.
    if dimension in CLICK_ONLY_REPORTS:
        return per_send_cleared(derive(totals))
    return derive(totals)


def daily_series(account: Account, filters: ReportFilters) -> list[dict[str, Any]]:
    """One row per day from start to end, days with nothing as zeros (start and end
    default to the first and last day with figures): day and the COUNT_FIELDS. For the
    overview chart."""
    filters_check(account, filters)
    by_day = {
        r["day"]: r
        for r in _daily(account, filters)
        .values("day")
        .annotate(**_sums(FIGURES), **_sends(per_offer=filters.offer is not None))
        .order_by("day")
    }
    first = filters.start or min(by_day, default=None)
    last = filters.end or max(by_day, default=None)
    if first is None or last is None:
        return []
    days = [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    return [{"day": day, **_counts(by_day.get(day, {}))} for day in days]


EXTRA_COLUMNS = {"messages": ("sent_at", "contact_id")}


# dimension -> (DailyRollup column, its label through the join, label when it is empty)
_GROUPS = {
    "campaigns": ("campaign_id", "campaign__name", "No campaign"),
    "creatives": ("creative_id", "creative__name", "No creative"),
    "offers": ("offer_id", "offer__name", "No offer"),
    "lists": ("sending_list_id", "sending_list__name", "No list"),
}


# dimension -> (label of each key, label of the key "" (stored for NULL or unknown))
_TRAIT_LABELS: dict[str, tuple[dict[str, str], str]] = {
    "devices": (
        {"mobile": "Mobile", "tablet": "Tablet", "desktop": "Desktop", "other": "Other"},
        "Unknown device",
    ),
    "os": ({}, "Unknown OS"),
    "countries": ({}, "Unknown country"),
    "variants": ({}, "No variant"),
}


_MESSAGE_VALUES = ("message_id", "external_id", "contact_id", "sent_at", *FIGURES, "cost")


def _sums(fields: Iterable[str]) -> dict[str, Sum]:
    return {f: Sum(f) for f in fields}


def _sends(*, per_offer: bool) -> dict[str, Sum]:
    """A DailyRollup's sends and cost: a message counts for every offer it carries
    (`offer_sends`, `offer_cost`) in the offers report and under an offer filter, else once."""
    if per_offer:
        return {"sends": Sum("offer_sends"), "cost": Sum("offer_cost")}
    return {"sends": Sum("sends"), "cost": Sum("cost")}


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
    return _sliced(queryset, filters, names)


def _sliced(queryset: QuerySet, filters: ReportFilters, names: Iterable[str]) -> QuerySet:
    """A rollup queryset narrowed to the named dimensions' filters."""
    for name in names:
        if getattr(filters, name) is not None:
            queryset = queryset.filter(**{_FILTER_COLUMNS[name]: getattr(filters, name)})
    return queryset


def _daily(account: Account, filters: ReportFilters) -> QuerySet[DailyRollup]:
    return _filtered(DailyRollup.objects.filter(account=account), filters, _FILTER_COLUMNS)


def _spans(account: Account, filters: ReportFilters, *, trait: str | None = None) -> list[QuerySet]:
    """The rollup rows whose sums are the filters' days (DailyRollup's, or TraitRollup's of
    one `trait`): on PostgreSQL every whole month in them from the month tables (which
    triggers keep equal to the days' sums) and only the days of a partial month from the
    day tables, so an all-time report reads a row per month, not per day; elsewhere the
    days."""
    days_model, months_model = (
        (DailyRollup, MonthRollup) if trait is None else (TraitRollup, TraitMonthRollup)
    )
    where: dict[str, Any] = {"account": account}
    if trait is not None:
        where["dimension"] = trait
    days = _filtered(days_model.objects.filter(**where), filters, _FILTER_COLUMNS)
    if connection.vendor != "postgresql":
        return [days]
    first, after = whole_months(filters.start, filters.end)
    if first is not None and after is not None and first >= after:
        return [days]  # no whole month in the period
    months = _sliced(months_model.objects.filter(**where), filters, _FILTER_COLUMNS)
    edges = Q()  # the days of a partial first or last month
    if first is not None:
        months = months.filter(month__gte=first)
        if first != filters.start:
            edges |= Q(day__lt=first)
    if after is not None:
        months = months.filter(month__lt=after)
        if filters.end is not None and after != filters.end + dt.timedelta(days=1):
            edges |= Q(day__gte=after)
    return [months, days.filter(edges)] if edges else [months]


def whole_months(
    start: dt.date | None, end: dt.date | None
) -> tuple[dt.date | None, dt.date | None]:
    """The whole months from start to end (inclusive; None: unbounded) as [first, after):
    the first day of the first whole month and the first day after the last, None where
    the period is unbounded. first >= after: none."""
    first = start if start is None or start.day == 1 else _next_month(start)
    if end is None:
        return first, None
    after = _next_month(end)
    return first, after if (after - end).days == 1 else end.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def _summed(
    querysets: Iterable[QuerySet], group: tuple[str, ...], sums: Mapping[str, Sum]
) -> list[dict[str, Any]]:
    """The sums of each group of rows over every queryset (one dict when `group` is empty)."""
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for queryset in querysets:
        found = queryset.values(*group).annotate(**sums) if group else [queryset.aggregate(**sums)]
        for r in found:
            key = tuple(r[g] for g in group)
            row = merged.get(key)
            if row is None:
                merged[key] = dict(r)
                continue
            for name in sums:
                if r[name] is not None:
                    row[name] = r[name] if row[name] is None else row[name] + r[name]
    return list(merged.values())


def _grouped_rows(
    account: Account, dimension: str, filters: ReportFilters, sort: tuple[str, bool] | None
) -> list[dict[str, Any]]:
    # A message is a send of every offer it carries (and costs what it cost for each), in
    # the offers report and whenever an offer filter applies; otherwise once (DailyRollup).
    sends = _sends(per_offer=filters.offer is not None or dimension == "offers")
    queryset = _daily(account, filters)
    rows = []
    if dimension in TRAIT_REPORTS:
        return _sorted(_trait_rows(account, dimension, filters), sort or ("label", False))
    if dimension == "days":
        for r in queryset.values("day").annotate(**_sums(FIGURES), **sends):
            day = r["day"].isoformat()
            rows.append({"key": day, "label": day, **derive(r)})
        natural: tuple[str, bool] = ("key", False)
    else:
        column, name, empty = _GROUPS[dimension]
        spans = _spans(account, filters)
        for r in _summed(spans, (column, name), {**_sums(FIGURES), **sends}):
            key = r[column]
            label = r[name] if key is None or r[name] is not None else f"#{key} (deleted)"
            rows.append({"key": key, "label": label or empty, **derive(r)})
        natural = ("label", False)
    rows.sort(key=lambda r: (r["key"] is None, str(r["key"])))
    return _sorted(rows, sort or natural)


def trait_rows(account: Account, dimension: str, filters: ReportFilters) -> list[dict[str, Any]]:
    """The rows of a trait report (TRAIT_REPORTS) in their natural order, unpaged, with no
    totals: for a chart. The filters must have passed report() (filters_check)."""
    return _trait_rows(account, dimension, filters)


def _trait_rows(account: Account, dimension: str, filters: ReportFilters) -> list[dict[str, Any]]:
    """A row per value of the click trait: key "" (an unknown OS or country, no variant)
    as key None."""
    labels, empty = _TRAIT_LABELS[dimension]
    rows = []
    sums = _sums((*FIGURES, "sends", "cost"))
    for r in _summed(_spans(account, filters, trait=dimension), ("key",), sums):
        key = r["key"] or None
        row = {"key": key, "label": labels.get(key, key) if key else empty, **derive(r)}
        rows.append(per_send_cleared(row) if dimension in CLICK_ONLY_REPORTS else row)
    rows.sort(key=lambda r: (r["key"] is None, str(r["key"])))
    return rows


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


def _message_totals(account: Account, filters: ReportFilters) -> dict[str, Any]:
    """The sums of the messages report's rows (_messages): on PostgreSQL from their sums a
    day at a time (MessageDayRollup, which triggers keep equal to them), narrowed alike."""
    if connection.vendor != "postgresql":
        return _messages(account, filters).aggregate(sends=Count("pk"), **_sums((*FIGURES, "cost")))
    days = _filtered(
        MessageDayRollup.objects.filter(account=account), filters, ("campaign", "creative", "list")
    )
    if filters.offer is not None:
        days = days.filter(offer_id=filters.offer)
    else:
        days = days.filter(is_first_offer=True)
    return days.aggregate(sends=Sum("messages"), **_sums((*FIGURES, "cost")))


# What the messages report sorts on in SQL, besides its ratios (_message_sort).
_MESSAGE_SORT: dict[str, Any] = {
    "key": F("message_id"),
    "label": F("external_id"),
    "sent_at": F("sent_at"),
    "contact_id": F("contact_id"),
    "sends": F("message_id"),
    **{f: F(f) for f in (*FIGURES, "cost")},
}


def _message_figure(name: str) -> Any:
    """The SQL of one count or difference (metrics.DIFFERENCES, read now) of a message."""
    if name == "sends":
        return Value(1)
    if name in DIFFERENCES:
        minuend, subtrahend = DIFFERENCES[name]
        return F(minuend) - F(subtrahend)
    return F(name)


def _message_sort(column: str) -> Any:
    """The SQL a messages report sorts `column` by. A ratio is metrics.RATIOS' definition,
    read now: each message is one send, so a ratio over sends sorts as its numerator."""
    if column in DIFFERENCES:
        return _message_figure(column)
    if column not in RATIOS:
        return _MESSAGE_SORT[column]
    numerator, denominator = RATIOS[column]
    if denominator == "sends":
        return _message_figure(numerator)
    top = Cast(_message_figure(numerator), FloatField())
    return top / NullIf(Cast(_message_figure(denominator), FloatField()), Value(0.0))


_MESSAGE_NEWEST = ("-day", "-sent_at", "-message_id")


def _message_order(sort: tuple[str, bool] | None) -> list[Any]:
    if sort is None:
        return list(_MESSAGE_NEWEST)
    column, descending = sort
    expression = _message_sort(column)
    first = expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True)
    return [first, *_MESSAGE_NEWEST]


def _message_row(r: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "key": r["message_id"],
        "label": r["external_id"] or f"message {r['message_id']}",
        "sent_at": iso(r["sent_at"]),
        "contact_id": r["contact_id"],
        **derive({**r, "sends": 1}),
    }
