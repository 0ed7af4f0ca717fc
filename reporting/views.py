"""The marketer's dashboard: server-rendered pages on the app hosts, login required, each
scoped to an account the user is a member of. Any other account id, or a message or contact
of another account, is a 404, so ids cannot be probed.

Every table sorts (`?sort=column`, `-column` for descending), filters by date range
(`?start=&end=`, days in the account's time zone), pages (`?page=`) and exports the same
columns as CSV (`?format=csv`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponseBase, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from core.models import Account, Contact, Membership, Message
from links.selectors import message_click_summary
from reporting import dashboard, report_params, reports, selectors, tables
from reporting.dashboard import DateRange, account_tz
from reporting.report_params import ReportFilters, ReportParamError
from reporting.tables import (
    BadParam,
    Column,
    Sort,
    Table,
    csv_response,
    exports,
    orm_table,
    page_number,
    python_table,
    query,
    sort_parse,
    table_build,
    wants_csv,
)

View = Callable[..., HttpResponseBase]


def request_membership(request: HttpRequest, account_id: int) -> Membership:
    """The user's membership of the URL's account, kept as `request.membership` for the
    templates; another account (or an inactive one) is a 404, so ids cannot be probed."""
    membership = dashboard.membership_of(request.user, account_id)
    if membership is None:
        raise Http404("No such account among yours.")
    request.membership = membership
    return membership


def account_page(view: View) -> View:
    """Login required; the URL's account must be one of the user's (else 404); a bad query
    parameter is a 400 page naming it. The user's membership is `request.membership`."""

    @login_required
    @require_GET
    @wraps(view)
    def wrapper(request: HttpRequest, account_id: int, **kwargs: Any) -> HttpResponseBase:
        membership = request_membership(request, account_id)
        account = membership.account
        try:
            with timezone.override(account.time_zone):  # pages show the account's clock
                return view(request, account, **kwargs)
        except (BadParam, ReportParamError) as exc:
            # ReportObjectNotFound (a filter naming another account's campaign) is a 404.
            status = getattr(exc, "status", 400)
            context = {
                "account": account, "membership": membership, "param": exc.param,
                "message": exc.message,
            }  # fmt: skip
            return render(request, "reporting/bad_request.html", context, status=status)

    return wrapper


class AccountUrls:
    """Links between an account's pages, for rows that point at a message or a contact."""

    def __init__(self, account: Account) -> None:
        # Each reversed once and completed per row: a reverse() per row is a third of the
        # time of a long export.
        self._message = _around_id("dashboard-message", account.pk)
        self._contact = _around_id("dashboard-contact", account.pk)

    def message(self, message_id: int) -> str:
        before, after = self._message
        return f"{before}{message_id}{after}"

    def contact(self, contact_id: int) -> str:
        before, after = self._contact
        return f"{before}{contact_id}{after}"

    def of(self, row: dict[str, Any]) -> dict[str, Any]:
        """`row` with links to its message and contact (message_url, contact_url)."""
        message_id, contact_id = row["message_id"], row["contact_id"]
        return {
            **row,
            "message_url": self.message(message_id) if message_id else None,
            "contact_url": self.contact(contact_id) if contact_id else None,
        }


def _around_id(name: str, account_id: int) -> tuple[str, str]:
    """The account's URL `name` before and after its last argument, an id."""
    sample = "987654321"
    before, _, after = reverse(name, args=[account_id, sample]).rpartition(sample)
    return before, after


def page(
    request: HttpRequest, account: Account, template: str, nav: str, **context: Any
) -> HttpResponseBase:
    if wants_csv(request):  # no table of this page took the export
        raise BadParam("table", "This page has no table by that name to export.")
    return render(
        request,
        template,
        {
            "account": account,
            "accounts": dashboard.member_accounts(request.user),
            "membership": request.membership,
            "nav": nav,
            # A new date range keeps the table's order.
            "keep": {
                k: request.GET[k]
                for k in ("sort", "flags_sort", "links_sort")
                if request.GET.get(k)
            },
            **context,
        },
    )


# Pages --------------------------------------------------------------------------------


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponseBase:
    """The user's only account's overview, or a choice of their accounts."""
    accounts = list(dashboard.member_accounts(request.user))
    if len(accounts) == 1:
        return redirect("dashboard-overview", accounts[0].pk)
    return render(request, "reporting/accounts.html", {"accounts": accounts})


CONVERSION_COLUMNS = (
    Column("occurred_at", "Time", "datetime"),
    Column("event", "Event"),
    Column("txn_id", "Transaction"),
    Column("revenue", "Revenue", "money"),
    Column("currency", "Currency"),
    Column("status", "Status"),
    Column("attribution_type", "Attribution"),
    Column("reason", "Why unattributed"),
    Column("offer", "Offer"),
    Column("campaign", "Campaign"),
    Column("message_id", "Message", link="message_url"),
    Column("contact_id", "Contact", link="contact_url"),
)
CONVERSION_ORDER = {
    "reason": "unattributed_reason",
    "offer": "offer__name",
    "campaign": "campaign__name",
}


# Reports (reporting.reports.report: the same rows and figures as the report API) ------

METRIC_COLUMNS = (
    Column("sends", "Sends", "int"),
    Column("raw_clicks", "Raw clicks", "int"),
    Column("bot_clicks", "Bot clicks", "int"),
    Column("bot_pct", "Bot share", "pct"),
    Column("unique_clicks", "Unique clicks", "int"),
    Column("click_rate", "Click rate", "pct"),
    Column("conversions", "Conversions", "int"),
    Column("revenue", "Revenue", "money"),
    Column("ctcr", "Conversion rate", "pct"),
    Column("epc", "EPC", "money"),
    Column("revenue_per_send", "Revenue per send", "money", places=4),
    Column("view_through_conversions", "View-through conversions", "int"),
    Column("view_through_revenue", "View-through revenue", "money"),
)
# The overview's figures, in the order a marketer reads them.
OVERVIEW_METRICS = (
    "sends", "unique_clicks", "click_rate", "conversions", "revenue", "ctcr", "epc",
    "revenue_per_send", "raw_clicks", "bot_clicks", "bot_pct", "view_through_revenue",
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
    )
}


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
    return (Column("label", dimension.label, link="url"), *METRIC_COLUMNS)


# Days read oldest first, messages newest first (the report's own order), the rest by
# revenue.
DEFAULT_SORT = {"days": Sort("label", False), "messages": None}


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
    """Where a report row leads: a message to its page, a campaign (creative, offer, list)
    to the messages it sent over the same days."""
    urls = AccountUrls(account)
    if dimension.name == "messages":
        return lambda row: {
            "url": urls.message(row["key"]),
            "contact_url": urls.contact(row["contact_id"]),
        }
    param = dimension.filter_param
    if param is None:
        return lambda row: {}
    messages_url = reverse("dashboard-messages", args=[account.pk])
    dates = {k: request.GET[k] for k in ("start", "end") if request.GET.get(k)}
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


# Raw rows -----------------------------------------------------------------------------


@account_page
def conversions(request: HttpRequest, account: Account) -> HttpResponseBase:
    dates = DateRange.parse(request.GET, account)
    urls = AccountUrls(account)
    table = orm_table(
        request,
        account_tz(account),
        name="conversions",
        columns=CONVERSION_COLUMNS,
        default=Sort("occurred_at", descending=True),
        queryset=selectors.conversions_for(
            account, {}, start=dates.start, end=dates.end, names=True
        ),
        row=lambda c: urls.of(selectors.conversion_row(c)),
        order_fields=CONVERSION_ORDER,
    )
    if isinstance(table, HttpResponseBase):
        return table
    return page(
        request, account, "reporting/table_page.html", "conversions",
        title="Conversions", dates=dates, table=table,
    )  # fmt: skip


POSTBACK_COLUMNS = (
    Column("received_at", "Received", "datetime"),
    Column("endpoint", "Endpoint"),
    Column("method", "Method"),
    Column("outcome", "Outcome"),
    Column("http_status", "HTTP", "int"),
    Column("reason", "Reason"),
    Column("query", "Query or body"),
    Column("ip", "IP"),
)


@account_page
def postbacks(request: HttpRequest, account: Account) -> HttpResponseBase:
    dates = DateRange.parse(request.GET, account)
    table = orm_table(
        request,
        account_tz(account),
        name="postbacks",
        columns=POSTBACK_COLUMNS,
        default=Sort("received_at", descending=True),
        queryset=dashboard.postbacks(account, dates),
        row=dashboard.postback_row,
    )
    if isinstance(table, HttpResponseBase):
        return table
    return page(
        request, account, "reporting/table_page.html", "postbacks",
        title="Postback log", dates=dates, table=table,
    )  # fmt: skip


RAW_CLICK_COLUMNS = (
    Column("clicked_at", "Time", "datetime"),
    Column("link_id", "Link"),
    Column("is_bot", "Bot", "bool"),
    Column("bot_reason", "Bot reason"),
    Column("counted", "Counted", "bool", sortable=False),
    Column("method", "Method"),
    Column("ip", "IP"),
    Column("user_agent", "User agent"),
    Column("click_id", "Click id"),
)


LINK_COLUMNS = (
    Column("name", "Name"),
    Column("link_id", "Link"),
    Column("offer", "Offer"),
    Column("destination", "Destination"),
    Column("raw_clicks", "Raw clicks (all time)", "int"),
)


@account_page
def message_detail(request: HttpRequest, account: Account, message_id: int) -> HttpResponseBase:
    message = get_object_or_404(
        Message.objects.select_related("contact", "campaign", "creative", "sending_list"),
        pk=message_id,
        account=account,
    )
    dates = DateRange.parse(request.GET, account, default_days=None)
    counted_id = dashboard.counted_click_id(message)
    table = orm_table(
        request,
        account_tz(account),
        name="clicks",
        columns=RAW_CLICK_COLUMNS,
        default=Sort("clicked_at", descending=False),
        queryset=dashboard.message_raw_clicks(message, dates),
        row=lambda c: dashboard.raw_click_row(c, counted_id),
        order_fields={"link_id": "link__link_id"},
    )
    if isinstance(table, HttpResponseBase):
        return table
    links = [
        {"name": link.name, "link_id": link.link_id, "destination": link.destination_url,
         "offer": link.offer.name if link.offer else None}
        for link in message.links.select_related("offer").order_by("name")
    ]  # fmt: skip
    summary = message_click_summary(message, links)  # adds raw_clicks to each link
    summary.update(selectors.message_conversion_summary(message))
    links_table = python_table(
        request,
        account_tz(account),
        name="links",
        columns=LINK_COLUMNS,
        default=Sort("name", descending=False),
        rows=links,
        sort_param="links_sort",
    )
    if isinstance(links_table, HttpResponseBase):
        return links_table
    return page(
        request, account, "reporting/message.html", "messages",
        title=f"Message {message}", message=message, dates=dates, table=table,
        summary=summary, links=links_table,
    )  # fmt: skip


JOURNEY_COLUMNS = (
    Column("at", "Time", "datetime"),
    Column("type", "What"),
    Column("message_id", "Message", link="message_url"),
    Column("campaign", "Campaign"),
    Column("link_id", "Link"),
    Column("is_bot", "Bot", "bool"),
    Column("bot_reason", "Bot reason"),
    Column("counted", "Counted", "bool"),
    Column("event", "Event"),
    Column("revenue", "Revenue", "money"),
    Column("attribution_type", "Attribution"),
)


@account_page
def contact_detail(request: HttpRequest, account: Account, contact_id: int) -> HttpResponseBase:
    contact = get_object_or_404(Contact, pk=contact_id, account=account)
    dates = DateRange.parse(request.GET, account, default_days=None)
    journey = selectors.contact_journey(contact)
    urls = AccountUrls(account)
    events = [dashboard.journey_row(event, urls) for event in journey["events"]]
    events = [e for e in events if dates.contains(e["at"], account)]
    table = python_table(
        request,
        account_tz(account),
        name="journey",
        columns=JOURNEY_COLUMNS,
        default=Sort("at", descending=False),
        rows=events,
    )
    if isinstance(table, HttpResponseBase):
        return table
    return page(
        request, account, "reporting/contact.html", "messages",
        title=f"Contact {contact}", contact=contact, journey=journey, dates=dates, table=table,
    )  # fmt: skip


BOT_REASON_COLUMNS = (
    Column("reason", "Reason"),
    Column("clicks", "Bot clicks", "int"),
    Column("share", "Share of bot clicks", "pct"),
)
FRAUD_FLAG_COLUMNS = (
    Column("created_at", "Raised", "datetime"),
    Column("kind", "Kind"),
    Column("key", "Incident"),
    Column("campaign", "Campaign"),
    Column("ip", "IP"),
    Column("evidence", "Evidence", sortable=False),
    Column("updated_at", "Last seen", "datetime"),
)


@account_page
def bots(request: HttpRequest, account: Account) -> HttpResponseBase:
    dates, filters = report_filters(request, account)
    tz = account_tz(account)
    reasons = python_table(
        request,
        tz,
        name="reasons",
        columns=BOT_REASON_COLUMNS,
        default=Sort("clicks", descending=True),
        rows=dashboard.bot_reasons(account, dates),
    )
    if isinstance(reasons, HttpResponseBase):
        return reasons
    flags = orm_table(
        request,
        tz,
        name="flags",
        columns=FRAUD_FLAG_COLUMNS,
        default=Sort("created_at", descending=True),
        queryset=dashboard.fraud_flags(account, dates),
        row=dashboard.fraud_flag_row,
        order_fields={"campaign": "campaign__name"},
        sort_param="flags_sort",
        page_param="flags_page",
    )
    if isinstance(flags, HttpResponseBase):
        return flags
    totals = reports.report(account, "days", filters, page=1, page_size=1).totals
    share = table_build(
        request, tz, name="share", columns=METRIC_COLUMNS, sort=None, rows=[], totals=totals
    )
    return page(
        request, account, "reporting/bots.html", "bots",
        title="Bots and fraud", dates=dates, reasons=reasons, flags=flags,
        figures=figures_of(share, ("raw_clicks", "bot_clicks", "bot_pct", "unique_clicks")),
    )  # fmt: skip
