"""The dashboard's report pages: the overview (figures and the daily chart), a page per
campaign, creative, offer, list and message, and the charted pages per device, OS,
country and A/B variant (of an offer picked on the page), each the same rows and figures
as the report API (reporting.reports), with its CSV."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponseBase, QueryDict
from django.urls import reverse

from core.models import Account, Offer
from reporting import dashboard, report_params, reports, tables
from reporting.dashboard import DateRange, account_tz
from reporting.metrics import CLICK_ONLY_CLEARED
from reporting.pages import AccountUrls, View, account_page, page
from reporting.report_params import ReportFilters
from reporting.tables import (
    BadParam,
    Column,
    Sort,
    Table,
    csv_response,
    exports,
    page_number,
    query,
    sort_parse,
    table_build,
)

# Every figure of reporting.metrics, in the order a marketer reads them: traffic, then
# what it earned, what it cost, and what is still waiting or came without a click.
METRIC_COLUMNS = (
    Column("sends", "Sends", "int"),
    Column("raw_clicks", "Raw clicks", "int"),
    Column("bot_clicks", "Bot clicks", "int"),
    Column("bot_pct", "Bot share", "pct"),
    Column("unique_clicks", "Unique clicks", "int"),
    Column("click_rate", "Click rate", "pct"),
    Column("conversions", "Conversions", "int"),
    Column("ctcr", "Conversion rate", "pct"),
    Column("revenue", "Revenue", "money"),
    Column("payout", "Payout", "money"),
    Column("epc", "EPC", "money", places=4),
    Column("rpc", "RPC", "money", places=4),
    Column("revenue_per_send", "Revenue per send", "money", places=4),
    Column("cost", "Cost", "money"),
    Column("cpa", "CPA", "money", places=4),
    Column("roas", "ROAS", "times"),
    Column("profit", "Profit", "money"),
    Column("profit_per_send", "Profit per send", "money", places=4),
    Column("pending_conversions", "Pending conversions", "int"),
    Column("pending_revenue", "Pending revenue", "money"),
    Column("view_through_conversions", "View-through conversions", "int"),
    Column("view_through_revenue", "View-through revenue", "money"),
    Column("view_through_payout", "View-through payout", "money"),
)


# The overview's figures, in the order a marketer reads them.
OVERVIEW_METRICS = (
    "sends", "unique_clicks", "click_rate", "conversions", "revenue", "payout", "cost",
    "profit", "ctcr", "epc", "rpc", "roas", "revenue_per_send", "pending_revenue", "raw_clicks",
    "bot_clicks", "bot_pct", "view_through_revenue",
)  # fmt: skip


@dataclass(frozen=True)
class Dimension:
    name: str  # as reporting.reports.report and the report API call it
    title: str
    label: str  # the heading of the name column
    filter_param: str | None  # the Messages page filter that drills into one row


DIMENSIONS = {
    d.name: d
    for d in (
        Dimension("days", "Overview", "Day", None),
        Dimension("campaigns", "Campaigns", "Campaign", "campaign"),
        Dimension("creatives", "Creatives", "Creative", "creative"),
        Dimension("offers", "Offers", "Offer", "offer"),
        Dimension("lists", "Lists", "List", "list"),
        Dimension("messages", "Messages", "Message", None),
        Dimension("devices", "Devices", "Device", None),
        Dimension("os", "Operating systems", "OS", None),
        Dimension("countries", "Countries", "Country", None),
        Dimension("variants", "A/B variants", "Variant", None),
    )
}

# A send has no device, OS or country: those pages leave out the columns of sends and cost.
CLICK_METRIC_COLUMNS = tuple(c for c in METRIC_COLUMNS if c.name not in CLICK_ONLY_CLEARED)
CHART_POINTS = 20  # the most a trait page's chart shows: the keys with most unique clicks


def report_filters(request: HttpRequest, account: Account) -> tuple[DateRange, ReportFilters]:
    """The page's filters: the date range (last 30 days unless given) and, as the report
    API takes them, campaign, creative, offer and list."""
    dates = DateRange.parse(request.GET, account)
    params = {k: request.GET.get(k, "") for k in ReportFilters.ID_PARAMS}
    params.update(
        {k: d.isoformat() if d else "" for k, d in (("start", dates.start), ("end", dates.end))}
    )
    return dates, ReportFilters.from_params(params, today=report_params.local_today(account))


def report_columns(dimension: Dimension) -> tuple[Column, ...]:
    if dimension.name == "days":
        return (Column("label", dimension.label, "date"), *METRIC_COLUMNS)
    if dimension.name == "messages":
        return (
            Column("label", dimension.label, link="url"),
            Column("sent_at", "Sent", "datetime"),
            Column("contact_id", "Contact", link="contact_url"),
            *METRIC_COLUMNS,
        )
    if dimension.name in reports.CLICK_ONLY_REPORTS:
        return (Column("label", dimension.label), *CLICK_METRIC_COLUMNS)
    return (Column("label", dimension.label, link="url"), *METRIC_COLUMNS)


# Days read oldest first, messages newest first (the report's own order), click traits by
# unique clicks, the rest by revenue.
DEFAULT_SORT = {
    "days": Sort("label", False),
    "messages": None,
    **{name: Sort("unique_clicks", True) for name in reports.TRAIT_REPORTS},
}


def report_table(
    request: HttpRequest, account: Account, dimension: Dimension, filters: ReportFilters
) -> Table | HttpResponseBase:
    columns = report_columns(dimension)
    sort = sort_parse(
        request.GET.get("sort"), columns, DEFAULT_SORT.get(dimension.name, Sort("revenue", True))
    )
    order = sort.param if sort else None
    links = _row_links(request, account, dimension)
    if exports(request, dimension.name):
        rows, totals = reports.report_export(account, dimension.name, filters, order=order)

        def total() -> Iterator[dict[str, Any]]:  # summed once the rows are out
            yield {"label": "Total", **totals()}

        every = itertools.chain(map(_report_row, rows), total())
        return csv_response(f"{dimension.name}.csv", columns, every, account_tz(account))
    number = page_number(request)
    result = reports.report(
        account, dimension.name, filters, order=order, page=number, page_size=tables.PAGE_SIZE
    )
    return table_build(
        request,
        account_tz(account),
        name=dimension.name,
        columns=columns,
        sort=sort,
        rows=[{**_report_row(row), **links(row)} for row in result.rows],
        count=result.count,
        number=number,
        totals={"label": "Total", **result.totals},
    )


def _report_row(row: dict[str, Any]) -> dict[str, Any]:
    if isinstance(row.get("sent_at"), str):  # the messages report gives it as ISO 8601
        return {**row, "sent_at": dt.datetime.fromisoformat(row["sent_at"])}
    return row


def _row_links(
    request: HttpRequest, account: Account, dimension: Dimension
) -> Callable[[dict[str, Any]], dict[str, str | None]]:
    """Where a report row leads: a message to its page, a campaign to its page (figures by
    day, holdout lift, a link to its messages) and a creative, offer or list to the
    messages it sent, over the same days."""
    urls = AccountUrls(account)
    dates = {k: request.GET[k] for k in ("start", "end") if request.GET.get(k)}
    if dimension.name == "campaigns":
        return lambda row: {
            "url": reverse("dashboard-campaign", args=[account.pk, row["key"]])
            + query(QueryDict(), **dates)
            if row["key"] is not None
            else None
        }
    if dimension.name == "messages":
        return lambda row: {
            "url": urls.message(row["key"]),
            "contact_url": urls.contact(row["contact_id"]),
        }
    param = dimension.filter_param
    if param is None:
        return lambda row: {}
    messages_url = reverse("dashboard-messages", args=[account.pk])
    return lambda row: {
        "url": messages_url + query(QueryDict(), **dates, **{param: row["key"]})
        if row["key"] is not None
        else None
    }


def figures_of(table: Table, names: Sequence[str]) -> list[dict[str, Any]]:
    """Some of a report table's totals, as the big figures at the top of a page."""
    totals = dict(zip((h["name"] for h in table.headers), table.totals or [], strict=True))
    labels = {h["name"]: h["label"] for h in table.headers}
    return [{"name": name, "label": labels[name], "cell": totals[name]} for name in names]


MAX_CHART_DAYS = 731  # two years of daily points


@account_page
def overview(request: HttpRequest, account: Account) -> HttpResponseBase:
    dates, filters = report_filters(request, account)
    if dates.days(account) > MAX_CHART_DAYS:
        raise BadParam("start", f"The overview charts at most {MAX_CHART_DAYS} days at once.")
    table = report_table(request, account, DIMENSIONS["days"], filters)
    if isinstance(table, HttpResponseBase):
        return table
    figures = figures_of(table, OVERVIEW_METRICS)
    series = [
        {
            "day": row["day"].isoformat(),
            "sends": row["sends"],
            "unique_clicks": row["unique_clicks"],
            "conversions": row["conversions"],
            "revenue": str(row["revenue"]),
        }
        for row in reports.daily_series(account, filters)
    ]
    return page(
        request, account, "reporting/overview.html", "overview",
        title="Overview", dates=dates, table=table, figures=figures, series=series,
    )  # fmt: skip


def _dimension_page(dimension_name: str) -> View:
    dimension = DIMENSIONS[dimension_name]

    def view(request: HttpRequest, account: Account) -> HttpResponseBase:
        dates, filters = report_filters(request, account)
        table = report_table(request, account, dimension, filters)
        if isinstance(table, HttpResponseBase):
            return table
        context: dict[str, Any] = {}
        if dimension.name == "messages":
            context["choices"] = dashboard.filter_choices(account, filters)
        return page(
            request, account, "reporting/table_page.html", dimension.name,
            title=dimension.title, dates=dates, table=table, **context,
        )  # fmt: skip

    view.__name__ = view.__qualname__ = dimension_name
    return account_page(view)


campaigns = _dimension_page("campaigns")


creatives = _dimension_page("creatives")


offers = _dimension_page("offers")


lists = _dimension_page("lists")


messages = _dimension_page("messages")


def _trait_page(dimension_name: str) -> View:
    dimension = DIMENSIONS[dimension_name]

    def view(request: HttpRequest, account: Account) -> HttpResponseBase:
        dates, filters = report_filters(request, account)
        context: dict[str, Any] = {"dimension": dimension, "table": None, "chart": None}
        if dimension.name == "variants":
            # One offer's variants: the page offers the account's offers to pick from.
            offers = Offer.objects.filter(account=account).order_by("name", "pk")
            options = [
                (pk, name, pk == filters.offer) for pk, name in offers.values_list("pk", "name")
            ]
            context["choices"] = [{"param": "offer", "label": "Offer", "options": options}]
        if dimension.name != "variants" or filters.offer is not None:
            table = report_table(request, account, dimension, filters)
            if isinstance(table, HttpResponseBase):
                return table
            context["table"] = table
            context["chart"] = _chart_points(account, dimension, filters)
        return page(
            request, account, "reporting/trait_page.html", dimension.name,
            title=dimension.title, dates=dates, **context,
        )  # fmt: skip

    view.__name__ = view.__qualname__ = dimension_name
    return account_page(view)


def _chart_points(
    account: Account, dimension: Dimension, filters: ReportFilters
) -> list[dict[str, Any]]:
    """The chart's bars: the CHART_POINTS keys with most unique clicks (then raw clicks),
    each with its figures as JSON numbers (revenue as a decimal string)."""
    rows = reports.trait_rows(account, dimension.name, filters)
    rows.sort(key=lambda r: (-r["unique_clicks"], -r["raw_clicks"], str(r["label"])))
    return [
        {
            "label": row["label"],
            "sends": row["sends"],
            "raw_clicks": row["raw_clicks"],
            "unique_clicks": row["unique_clicks"],
            "conversions": row["conversions"],
            "revenue": str(row["revenue"]),
        }
        for row in rows[:CHART_POINTS]
    ]


devices = _trait_page("devices")


operating_systems = _trait_page("os")


countries = _trait_page("countries")


variants = _trait_page("variants")
