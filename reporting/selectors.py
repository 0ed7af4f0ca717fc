"""Reads shared by the API and the dashboard beyond the reports (reporting.reports): a
conversion as a row (one definition for both), the conversions of a date range, a
message's credited conversions and a contact's journey."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum

from attribution.models import Conversion
from core.models import Account, Contact, Message
from links.models import MessageShortLinkClick
from links.selectors import click_traits_of
from reporting.credit import click_credited_conversions
from reporting.report_params import day_bounds


def iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def money(value: Decimal | None) -> str:
    return f"{(value or Decimal(0)):.2f}"


def message_conversion_summary(message: Message) -> dict[str, Any]:
    """Approved conversions credited to the message through a click (reporting.credit),
    their revenue and payout. (What sending it cost is the message's own `cost`, to four
    places, as the mint answered: links.responses.message_result.)"""
    totals = (
        click_credited_conversions()
        .filter(message=message)
        .aggregate(n=Count("id"), revenue=Sum("revenue"), payout=Sum("payout"))
    )
    return {
        "converted": totals["n"] > 0,
        "conversions": totals["n"],
        "revenue": money(totals["revenue"]),
        "payout": money(totals["payout"]),
    }


# Conversions are read as values, not models: an export of a busy account makes no model
# instance per row. The names are joined only for the dashboard, which shows them.
CONVERSION_VALUES = (
    "id", "event", "txn_id", "approval", "revenue", "payout", "currency", "occurred_at",
    "received_at", "status", "attribution_type", "unattributed_reason", "message_id",
    "contact_id", "offer_id", "campaign_id", "creative_id",
)  # fmt: skip
CONVERSION_NAMES = ("offer__name", "campaign__name")


def conversions_for(
    account: Account,
    params: Mapping[str, str],
    *,
    start: dt.date | None,
    end: dt.date | None,
    names: bool = False,
) -> QuerySet[Conversion, dict[str, Any]]:
    """The account's conversions that occurred from `start` to `end` (local days, None:
    open), newest first, narrowed by the list's other filters, as values for
    conversion_row (with the offer's and campaign's names if `names`)."""
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
        "approval": "approval",
        "attribution": "attribution_type",
        "event": "event",
    }
    for param, lookup in filters.items():
        if params.get(param):
            queryset = queryset.filter(**{lookup: params[param]})
    return queryset.values(*CONVERSION_VALUES, *(CONVERSION_NAMES if names else ()))


def conversion_row(values: Mapping[str, Any]) -> dict[str, Any]:
    """A conversion (CONVERSION_VALUES, and CONVERSION_NAMES when read) as the API, the
    journey and the dashboard all show it: the API's field names and order; times and
    money as Python values, which conversion_json and the dashboard's tables present."""
    row = {
        "id": values["id"],
        "event": values["event"],
        "txn_id": values["txn_id"],
        "approval": values["approval"],
        "revenue": values["revenue"],
        "payout": values["payout"],
        "currency": values["currency"],
        "occurred_at": values["occurred_at"],
        "received_at": values["received_at"],
        "status": values["status"],
        "attribution_type": values["attribution_type"],
        "reason": values["unattributed_reason"],
        "message_id": values["message_id"],
        "contact_id": values["contact_id"],
        "offer_id": values["offer_id"],
        "campaign_id": values["campaign_id"],
        "creative_id": values["creative_id"],
    }
    if "offer__name" in values:
        row["offer"], row["campaign"] = values["offer__name"], values["campaign__name"]
    return row


def conversion_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A conversion_row as the API answers it: times in ISO 8601 (UTC as Z), money to
    the cent."""
    return {
        **row,
        "revenue": money(row["revenue"]),
        "payout": money(row["payout"]),
        "occurred_at": iso(row["occurred_at"]),
        "received_at": iso(row["received_at"]),
    }


def contact_journey(contact: Contact) -> dict[str, Any]:
    """Messages received, clicks and conversions of a contact, in time order."""
    events: list[tuple[dt.datetime, int, dict[str, Any]]] = []
    for m in Message.objects.filter(contact=contact).select_related("campaign").order_by("sent_at"):
        events.append((m.sent_at, 0, {
            "type": "message", "at": iso(m.sent_at), "message_id": m.pk,
            "external_id": m.external_id, "channel": m.channel,
            "campaign": m.campaign.name if m.campaign else None,
        }))  # fmt: skip
    counted = set(contact.message_clicks.values_list("raw_click_id", flat=True))
    for c in MessageShortLinkClick.objects.filter(contact=contact).select_related("short_link"):
        events.append((c.clicked_at, 1, {
            "type": "click", "at": iso(c.clicked_at), "click_id": c.click_id,
            "message_id": c.message_id, "link_id": c.short_link.link_id, "is_bot": c.is_bot,
            "bot_reason": c.bot_reason, "counted": c.pk in counted, **click_traits_of(c),
        }))  # fmt: skip
    conversions = [
        conversion_row(values)
        for values in Conversion.objects.filter(contact=contact).values(*CONVERSION_VALUES)
    ]
    for row in conversions:
        events.append((row["occurred_at"], 2, {"type": "conversion", **conversion_json(row)}))
    events.sort(key=lambda e: (e[0], e[1]))
    # Approved ones only: a pending, rejected or reversed conversion earned nothing (yet).
    revenue = sum(
        (
            c["revenue"]
            for c in conversions
            if Conversion.approved_values(c["status"], c["approval"])
        ),
        Decimal(0),
    )
    return {
        "contact": {
            "id": contact.pk, "external_id": contact.external_id,
            "phone": contact.phone, "email": contact.email,
        },
        "total_revenue": money(revenue),
        "events": [event for _, _, event in events],
    }  # fmt: skip
