"""The dashboard's pages of raw rows: conversions, the postback log, a message with its
clicks, a contact's journey, and bots and fraud. Report pages are in
reporting.report_views, the access pages in reporting.access_views."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404

from attribution.models import Conversion
from audiences.labels import contact_labels
from core.models import Account, Contact, Message
from links.selectors import message_click_summary
from reporting import dashboard, reports, selectors
from reporting.conversion_views import conversion_url_of
from reporting.dashboard import DateRange, account_tz
from reporting.pages import AccountUrls, account_page, page
from reporting.report_views import METRIC_COLUMNS, figures_of, report_filters
from reporting.tables import (
    BadParam,
    Column,
    Sort,
    orm_table,
    python_table,
    table_build,
)

CONVERSION_COLUMNS = (
    Column("occurred_at", "Time", "datetime", link="conversion_url"),
    Column("event", "Event"),
    Column("txn_id", "Transaction"),
    Column("approval", "Approval"),
    Column("revenue", "Revenue", "money"),
    Column("payout", "Payout", "money"),
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


def _approval_filter(request: HttpRequest) -> tuple[dict[str, str], dict[str, Any]]:
    """?approval= (a bad value: the 400 page naming it) and the filter form's choice."""
    approval = request.GET.get("approval", "")
    if approval and approval not in Conversion.Approval.values:
        raise BadParam("approval", f"Must be one of {', '.join(Conversion.Approval.values)}.")
    options = [(value, label, value == approval) for value, label in Conversion.Approval.choices]
    choice = {"param": "approval", "label": "Approval", "options": options}
    return ({"approval": approval} if approval else {}), choice


@account_page
def conversions(request: HttpRequest, account: Account) -> HttpResponseBase:
    dates = DateRange.parse(request.GET, account)
    urls = AccountUrls(account)
    conversion_url = conversion_url_of(account)
    filters, choice = _approval_filter(request)
    table = orm_table(
        request,
        account_tz(account),
        name="conversions",
        columns=CONVERSION_COLUMNS,
        default=Sort("occurred_at", descending=True),
        queryset=selectors.conversions_for(
            account, filters, start=dates.start, end=dates.end, names=True
        ),
        row=lambda c: {
            **urls.of(selectors.conversion_row(c)),
            "conversion_url": conversion_url(c["id"]),
        },
        order_fields=CONVERSION_ORDER,
    )
    if isinstance(table, HttpResponseBase):
        return table
    return page(
        request, account, "reporting/table_page.html", "conversions",
        title="Conversions", dates=dates, table=table, choices=[choice],
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
    Column("device", "Device"),
    Column("os", "OS"),
    Column("browser", "Browser"),
    Column("country", "Country"),
    Column("network", "Network"),
    Column("variant", "Variant"),
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
        order_fields={"link_id": "short_link__link_id"},
    )
    if isinstance(table, HttpResponseBase):
        return table
    links = [
        {"name": link.name, "link_id": link.link_id, "destination": link.destination_url,
         "offer": link.offer.name if link.offer else None}
        for link in message.links.select_related("offer").order_by("name")
    ]  # fmt: skip
    summary = message_click_summary(message, links)  # adds raw_clicks to each link
    summary.update(selectors.message_conversion_summary(message), cost=str(message.cost))
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
    Column("device", "Device"),
    Column("os", "OS"),
    Column("browser", "Browser"),
    Column("country", "Country"),
    Column("network", "Network"),
    Column("variant", "Variant"),
    Column("event", "Event"),
    Column("revenue", "Revenue", "money"),
    Column("attribution_type", "Attribution"),
)


@account_page
def contact_detail(request: HttpRequest, account: Account, contact_id: int) -> HttpResponseBase:
    contact = get_object_or_404(Contact, pk=contact_id, account=account, erased_at__isnull=True)
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
        labels=contact_labels(contact.pk),
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
