"""Reads across apps for the API, the reports and the dashboard."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum

from attribution.models import Conversion
from links.models import MessageShortLinkClick
from trackly.models import Account, Contact, Message

CLICK_CREDIT = (Conversion.AttributionType.DIRECT, Conversion.AttributionType.CLICK_THROUGH)

DIMENSIONS = ("campaigns", "creatives", "offers", "lists", "days", "messages")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
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
    def from_params(cls, params: Mapping[str, str]) -> ReportFilters:
        """Parse query parameters; raises ReportParamError naming the first bad one."""
        values: dict[str, Any] = {}
        for name in ("start", "end"):
            raw = (params.get(name) or "").strip()
            if raw:
                try:
                    values[name] = dt.date.fromisoformat(raw)
                except ValueError:
                    raise ReportParamError(name, "Must be a date, YYYY-MM-DD.") from None
                if len(raw) != 10:
                    raise ReportParamError(name, "Must be a date, YYYY-MM-DD.")
        for name in cls.ID_PARAMS:
            raw = (params.get(name) or "").strip()
            if raw:
                values[name] = parse_id(name, raw)
        filters = cls(**values)
        if filters.start and filters.end and filters.start > filters.end:
            raise ReportParamError("end", "Must be on or after start.")
        return filters

    def as_params(self) -> dict[str, str | None]:
        return {
            k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(self).items()
        }


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

    `order` is a column name, "-" in front for descending. page is 1-based; page_size None
    with page None means every row (CSV export).
    """
    raise NotImplementedError


def daily_series(account: Account, filters: ReportFilters) -> list[dict[str, Any]]:
    """One row per day from start to end (days with nothing are zeros): day, sends,
    unique_clicks, conversions, revenue. For the overview chart."""
    raise NotImplementedError


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _money(value: Decimal | None) -> str:
    return f"{(value or Decimal(0)):.2f}"


def message_conversion_summary(message: Message) -> dict[str, Any]:
    """Conversions credited to the message through a click, and their revenue."""
    totals = Conversion.objects.filter(
        message=message, status=Conversion.Status.ACCEPTED, attribution_type__in=CLICK_CREDIT
    ).aggregate(n=Count("id"), revenue=Sum("revenue"))
    return {
        "converted": totals["n"] > 0,
        "conversions": totals["n"],
        "revenue": _money(totals["revenue"]),
    }


def conversions_for(account: Account, params: dict[str, str]) -> QuerySet[Conversion]:
    queryset = Conversion.objects.filter(account=account).order_by("-occurred_at", "-id")
    filters = {
        "offer": "offer_id",
        "campaign": "campaign_id",
        "creative": "creative_id",
        "message": "message_id",
        "contact": "contact_id",
        "status": "status",
        "attribution": "attribution_type",
        "event": "event",
        "start": "occurred_at__date__gte",
        "end": "occurred_at__date__lte",
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
