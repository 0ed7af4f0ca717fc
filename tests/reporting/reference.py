"""Report figures computed straight from the raw rows, independently of reporting.*: what
the rollups must agree with. Written for clarity on small datasets, not for speed.

The definitions (docs/reports.md): every figure falls on the local day it happened (sends
on sent_at, clicks on clicked_at, conversions on occurred_at); clicks and conversions belong
to the offer of their link / conversion; a message is a send of every offer it carries
(once in a total), and costs what it cost for each, like a send; the messages report lists
messages sent in the range with all their figures, the offer filter keeping those that
carry a link to the offer. Approved conversions count in conversions / revenue / payout
(view-through ones apart), pending-approval ones credited through a click in pending_*,
rejected and reversed ones nowhere; profit is payout - cost.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from attribution.models import Conversion
from core.models import Account, Message
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick

COUNTS = ("sends", "raw_clicks", "bot_clicks", "unique_clicks", "conversions", "revenue",
          "payout", "view_through_conversions", "view_through_revenue", "view_through_payout",
          "pending_conversions", "pending_revenue", "cost")  # fmt: skip
MONEY = ("revenue", "payout", "view_through_revenue", "view_through_payout", "pending_revenue",
         "cost", "profit")  # fmt: skip
CLICKED = ("direct", "click_through")


def conversion_figures(conv: Conversion) -> dict[str, int | Decimal]:
    """What one conversion adds, by figure (nothing: rejected, reversed, waiting for its
    click, unattributed)."""
    if conv.status != "accepted":
        return {}
    if conv.approval == "approved" and conv.attribution_type in CLICKED:
        return {"conversions": 1, "revenue": conv.revenue, "payout": conv.payout}
    if conv.approval == "approved" and conv.attribution_type == "view_through":
        return {"view_through_conversions": 1, "view_through_revenue": conv.revenue,
                "view_through_payout": conv.payout}  # fmt: skip
    if conv.approval == "pending" and conv.attribution_type in CLICKED:
        return {"pending_conversions": 1, "pending_revenue": conv.revenue}
    return {}


@dataclass
class Event:
    figure: str
    value: int | Decimal
    day: dt.date
    message: Message | None  # None: a conversion whose message was deleted
    offers: frozenset[int | None]  # the offers it counts for (several only for a send)


def _events(account: Account) -> list[Event]:
    tz = zoneinfo.ZoneInfo(account.time_zone)
    messages = {m.pk: m for m in Message.objects.filter(account=account)}
    carried: dict[int, set[int | None]] = defaultdict(set)
    for link in MessageShortLink.objects.filter(account=account):
        if link.offer_id is not None:
            carried[link.message_id].add(link.offer_id)
    events = []
    for m in messages.values():
        day, offers = m.sent_at.astimezone(tz).date(), frozenset(carried[m.pk] or {None})
        events.append(Event("sends", 1, day, m, offers))
        events.append(Event("cost", m.cost, day, m, offers))
    for c in MessageShortLinkClick.objects.filter(account=account).select_related("short_link"):
        day, offers = c.clicked_at.astimezone(tz).date(), frozenset({c.short_link.offer_id})
        events.append(Event("raw_clicks", 1, day, messages[c.message_id], offers))
        if c.is_bot:
            events.append(Event("bot_clicks", 1, day, messages[c.message_id], offers))
    for mc in MessageClick.objects.filter(account=account):
        events.append(Event("unique_clicks", 1, mc.clicked_at.astimezone(tz).date(),
                            messages[mc.message_id], frozenset({mc.offer_id})))  # fmt: skip
    for conv in Conversion.objects.filter(account=account):
        day, offers = conv.occurred_at.astimezone(tz).date(), frozenset({conv.offer_id})
        message = messages.get(conv.message_id)
        for name, value in conversion_figures(conv).items():
            events.append(Event(name, value, day, message, offers))
    return events


def _zero() -> dict[str, Any]:
    return {f: Decimal(0) if f in MONEY else 0 for f in COUNTS}


def _div(a: int | Decimal, b: int | Decimal) -> str | None:
    if b == 0:
        return None
    return str((Decimal(a) / Decimal(b)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def shown(counts: dict[str, Any]) -> dict[str, Any]:
    """The figures as the API shows them."""
    profit = counts["payout"] - counts["cost"]
    out = {f: (_cents(v) if f in MONEY else v) for f, v in counts.items()}
    out["profit"] = _cents(profit)
    out["click_rate"] = _div(counts["unique_clicks"], counts["sends"])
    out["bot_pct"] = _div(counts["bot_clicks"], counts["raw_clicks"])
    out["ctcr"] = _div(counts["conversions"], counts["unique_clicks"])
    out["epc"] = _div(counts["payout"], counts["unique_clicks"])
    out["rpc"] = _div(counts["revenue"], counts["unique_clicks"])
    out["revenue_per_send"] = _div(counts["revenue"], counts["sends"])
    out["cpa"] = _div(counts["cost"], counts["conversions"])
    out["roas"] = _div(counts["revenue"], counts["cost"])
    out["profit_per_send"] = _div(profit, counts["sends"])
    return out


def _cents(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_UP))


_ATTRIBUTE = {"campaigns": "campaign_id", "creatives": "creative_id", "lists": "sending_list_id"}


def expected(
    account: Account, dimension: str, filters: dict[str, Any]
) -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
    """(rows by key, totals), each as the API shows them. filters: start, end (dates),
    campaign, creative, offer, list (ids)."""
    if dimension == "messages":
        return _expected_messages(account, filters)
    rows: dict[Any, dict[str, Any]] = defaultdict(_zero)
    totals = _zero()
    for e in _events(account):
        m = e.message
        if filters.get("start") and e.day < filters["start"]:
            continue
        if filters.get("end") and e.day > filters["end"]:
            continue
        if not _attributes_match(m, filters):
            continue
        offers = e.offers
        if filters.get("offer"):
            if filters["offer"] not in offers:
                continue
            offers = frozenset({filters["offer"]})
        if dimension == "offers":
            keys = list(offers)
        elif dimension == "days":
            keys = [e.day.isoformat()]
        else:
            keys = [_attribute(m, _ATTRIBUTE[dimension])]
        for key in keys:
            rows[key][e.figure] += e.value
        totals[e.figure] += e.value
    return {k: shown(v) for k, v in rows.items()}, shown(totals)


def _attribute(m: Message | None, column: str) -> int | None:
    return getattr(m, column) if m is not None else None


def _attributes_match(m: Message | None, filters: dict[str, Any]) -> bool:
    return all(
        not filters.get(name) or _attribute(m, column) == filters[name]
        for name, column in (("campaign", "campaign_id"), ("creative", "creative_id"),
                             ("list", "sending_list_id"))
    )  # fmt: skip


def _expected_messages(
    account: Account, filters: dict[str, Any]
) -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
    tz = zoneinfo.ZoneInfo(account.time_zone)
    rows: dict[Any, dict[str, Any]] = {}
    totals = _zero()
    for m in Message.objects.filter(account=account):
        day = m.sent_at.astimezone(tz).date()
        if (filters.get("start") and day < filters["start"]) or (
            filters.get("end") and day > filters["end"]
        ):
            continue
        if not _attributes_match(m, filters):
            continue
        if (
            filters.get("offer")
            and not MessageShortLink.objects.filter(message=m, offer_id=filters["offer"]).exists()
        ):
            continue
        counts = _zero()
        counts["sends"] = 1
        counts["cost"] = m.cost
        for c in MessageShortLinkClick.objects.filter(message=m):
            counts["raw_clicks"] += 1
            counts["bot_clicks"] += int(c.is_bot)
        counts["unique_clicks"] = MessageClick.objects.filter(message=m).count()
        for conv in Conversion.objects.filter(message=m):
            for name, value in conversion_figures(conv).items():
                counts[name] += value
        rows[m.pk] = shown(counts)
        for f in COUNTS:
            totals[f] += counts[f]
    return rows, shown(totals)


def bot_reasons(account: Account, start: dt.date, end: dt.date) -> list[list[str]]:
    """The bots page's reasons table over local days start to end, as its cells' exact
    values: reason, bot clicks, share; most clicks first, then by reason."""
    tz = zoneinfo.ZoneInfo(account.time_zone)
    counts: Counter[str] = Counter()
    for c in MessageShortLinkClick.objects.filter(account=account, is_bot=True):
        if start <= c.clicked_at.astimezone(tz).date() <= end:
            counts[c.bot_reason] += 1
    total = sum(counts.values())
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [[reason or "(none given)", str(n), _div(n, total)] for reason, n in ordered]


# The trait reports: each a click's column; what a conversion with no click falls on.
TRAIT_COLUMNS = {"devices": "device", "os": "os", "countries": "country", "variants": "variant"}
NO_CLICK = {"devices": "other", "os": None, "countries": None, "variants": None}
PER_SEND = ("sends", "click_rate", "revenue_per_send", "profit_per_send")
COST = ("cost", "profit", "cpa", "roas", "profit_per_send")


def expected_traits(
    account: Account, dimension: str, filters: dict[str, Any]
) -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
    """(rows by key, totals) of the devices, os, countries or variants report, as the API
    shows them: each click on its own trait, a unique click on its raw click's, a
    conversion on its credited click's (no click: NO_CLICK); "" as None. A variant's sends
    and cost are those of the messages carrying a link of the offer with it; elsewhere
    sends, cost and the figures made of them are None. The totals are the campaigns
    report's."""
    tz = zoneinfo.ZoneInfo(account.time_zone)
    column = TRAIT_COLUMNS[dimension]
    rows: dict[Any, dict[str, Any]] = defaultdict(_zero)

    def trait(click: MessageShortLinkClick | None) -> Any:
        return (getattr(click, column) or None) if click is not None else NO_CLICK[dimension]

    def keep(day: dt.date, message: Message | None, offer: int | None) -> bool:
        if filters.get("start") and day < filters["start"]:
            return False
        if filters.get("end") and day > filters["end"]:
            return False
        if filters.get("offer") and offer != filters["offer"]:
            return False
        return _attributes_match(message, filters)

    if dimension == "variants":
        for m in Message.objects.filter(account=account):
            carried = {
                (link.offer_id, link.variant or None)
                for link in MessageShortLink.objects.filter(message=m, offer__isnull=False)
            }
            for offer, variant in carried:
                if keep(m.sent_at.astimezone(tz).date(), m, offer):
                    rows[variant]["sends"] += 1
                    rows[variant]["cost"] += m.cost
    clicks = MessageShortLinkClick.objects.filter(account=account).select_related(
        "short_link", "message"
    )
    for c in clicks:
        if keep(c.clicked_at.astimezone(tz).date(), c.message, c.short_link.offer_id):
            rows[trait(c)]["raw_clicks"] += 1
            rows[trait(c)]["bot_clicks"] += int(c.is_bot)
    for mc in MessageClick.objects.filter(account=account).select_related("raw_click", "message"):
        if keep(mc.clicked_at.astimezone(tz).date(), mc.message, mc.offer_id):
            rows[trait(mc.raw_click)]["unique_clicks"] += 1
    conversions = Conversion.objects.filter(account=account).select_related("raw_click", "message")
    for conv in conversions:
        if not keep(conv.occurred_at.astimezone(tz).date(), conv.message, conv.offer_id):
            continue
        clicked = conv.attribution_type in CLICKED
        key = trait(conv.raw_click) if clicked else NO_CLICK[dimension]
        for name, value in conversion_figures(conv).items():
            rows[key][name] += value
    _, totals = expected(account, "campaigns", filters)
    shown_rows = {k: shown(v) for k, v in rows.items()}
    if dimension != "variants":
        shown_rows = {k: {**v, **dict.fromkeys((*PER_SEND, *COST))} for k, v in shown_rows.items()}
        totals = {**totals, **dict.fromkeys((*PER_SEND, *COST))}
    return shown_rows, totals
