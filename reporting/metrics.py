"""Every report figure, defined once: the API, the dashboard and CSV all read them from here.

Counts (summed from the rollup tables, see docs/reports.md; which conversions count as
what is reporting.credit's):

- `sends`: messages sent (`Message.sent_at`).
- `raw_clicks`: every `MessageShortLinkClick`, bots and repeats included.
- `bot_clicks`: raw clicks whose verdict is bot.
- `unique_clicks`: `MessageClick` rows, the first counted click per contact per message.
- `conversions`, `revenue`, `payout`: approved conversions credited through a click (direct
  or click-through), their revenue (the sale's value) and payout (what the marketer earns).
- `view_through_conversions`, `view_through_revenue`, `view_through_payout`: approved
  view-through conversions (received the offer, never clicked), kept apart.
- `pending_conversions`, `pending_revenue`: conversions awaiting approval, credited through
  a click. Rejected and reversed conversions count nowhere.
- `cost`: what sending the messages cost (`Message.cost`), counted like `sends`.

Money from counts: `profit` = payout - cost (DIFFERENCES).

Ratios, each None when its denominator is zero (RATIOS):

- `click_rate` = unique_clicks / sends
- `bot_pct` = bot_clicks / raw_clicks (a fraction, 0 to 1)
- `ctcr` = conversions / unique_clicks
- `epc` = payout / unique_clicks (earnings per click; before issue 18 revenue / unique_clicks)
- `rpc` = revenue / unique_clicks (revenue per click)
- `revenue_per_send` = revenue / sends
- `cpa` = cost / conversions
- `roas` = revenue / cost (return on sending spend)
- `profit_per_send` = profit / sends

Money is shown to the cent, ratios to four places.

Where a row is a trait of a click (device, OS, country), the figures of sends and of cost
(CLICK_ONLY_CLEARED: PER_SEND_FIELDS and COST_FIELDS) have no value: a send has no device,
so there they are None (`per_send_cleared`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

COUNT_FIELDS = (
    "sends",
    "raw_clicks",
    "bot_clicks",
    "unique_clicks",
    "conversions",
    "revenue",
    "payout",
    "view_through_conversions",
    "view_through_revenue",
    "view_through_payout",
    "pending_conversions",
    "pending_revenue",
    "cost",
)
# Each money figure made of counts, as (minuend, subtrahend): read by derive() and by the
# messages report's SQL sort (reporting.reports).
DIFFERENCES = {"profit": ("payout", "cost")}
MONEY_FIELDS = (
    "revenue",
    "payout",
    "view_through_revenue",
    "view_through_payout",
    "pending_revenue",
    "cost",
    *DIFFERENCES,
)
RATIO_FIELDS = (
    "click_rate",
    "bot_pct",
    "ctcr",
    "epc",
    "rpc",
    "revenue_per_send",
    "cpa",
    "roas",
    "profit_per_send",
)
COLUMNS = (*COUNT_FIELDS, *DIFFERENCES, *RATIO_FIELDS)

# Ratios are rounded once, here, so every page, API answer and CSV shows the same digits.
RATIO_PLACES = Decimal("0.0001")
MONEY_PLACES = Decimal("0.01")
STORED_MONEY_PLACES = Decimal("0.0001")  # what the database keeps (DecimalField places)

# Each ratio as (numerator, denominator): read at call time by derive() and by the
# messages report's SQL sort (reporting.reports), so the one definition is this table.
RATIOS = {
    "click_rate": ("unique_clicks", "sends"),
    "bot_pct": ("bot_clicks", "raw_clicks"),
    "ctcr": ("conversions", "unique_clicks"),
    "epc": ("payout", "unique_clicks"),
    "rpc": ("revenue", "unique_clicks"),
    "revenue_per_send": ("revenue", "sends"),
    "cpa": ("cost", "conversions"),
    "roas": ("revenue", "cost"),
    "profit_per_send": ("profit", "sends"),
}


def _reading(names: tuple[str, ...]) -> tuple[str, ...]:
    """`names`, the differences made of them, and every ratio that reads any of those."""
    figures = (*names, *(f for f, pair in DIFFERENCES.items() if set(pair) & set(names)))
    return (*figures, *(f for f, pair in RATIOS.items() if set(pair) & set(figures)))


# sends and the figures that read it, read from RATIOS: the one definition.
PER_SEND_FIELDS = _reading(("sends",))
# cost and the figures that read it (profit, cpa, roas, profit_per_send).
COST_FIELDS = _reading(("cost",))
# What a row of clicks with no sends behind it (a device, OS, country) has no value for.
CLICK_ONLY_CLEARED = tuple(dict.fromkeys((*PER_SEND_FIELDS, *COST_FIELDS)))


def ratio(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    """numerator / denominator to RATIO_PLACES, or None when there is nothing to divide by."""
    if not denominator:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATIO_PLACES, ROUND_HALF_UP)


def zero_counts() -> dict[str, int | Decimal]:
    return {f: Decimal(0) if f in MONEY_FIELDS else 0 for f in COUNT_FIELDS}


def derive(counts: Mapping[str, int | Decimal | None]) -> dict[str, Any]:
    """The counts (missing or NULL ones as zero; money as Decimal), the differences, then
    the ratios."""
    row: dict[str, Any] = {}
    for field in COUNT_FIELDS:
        value = counts.get(field) or 0
        row[field] = (
            Decimal(value).quantize(STORED_MONEY_PLACES) if field in MONEY_FIELDS else int(value)
        )
    for field, (minuend, subtrahend) in DIFFERENCES.items():
        row[field] = row[minuend] - row[subtrahend]
    for field, (numerator, denominator) in RATIOS.items():
        row[field] = ratio(row[numerator], row[denominator])
    return row


def present(value: Any, field: str) -> Any:
    """One figure as the API and CSV show it: counts as integers, money to the cent and
    ratios to four places as strings (exact, unlike floats), None as null."""
    if value is None or field not in COLUMNS:
        return value
    if field in MONEY_FIELDS:
        return str(Decimal(value).quantize(MONEY_PLACES, ROUND_HALF_UP))
    if field in RATIO_FIELDS:
        return str(value)
    return int(value)


def per_send_cleared(row: Mapping[str, Any]) -> dict[str, Any]:
    """`row` with every figure of sends or cost None (CLICK_ONLY_CLEARED): a row of clicks
    with no sends behind it (a device, OS or country)."""
    return {**row, **dict.fromkeys(CLICK_ONLY_CLEARED)}
