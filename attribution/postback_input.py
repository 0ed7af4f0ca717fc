"""Parsing postback parameters. Pure functions; a bad value raises PostbackInvalid naming
the field, which the view answers with 400."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.dateparse import parse_datetime

from core import bounds
from core.currencies import CURRENCIES

_DECIMAL_RE = re.compile(r"^\d+(\.\d+)?$")
_EVENT_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")
_UNIX_RE = re.compile(r"^\d{9,11}(\.\d+)?$")

# What a postback says about money and approval. Only one that proved where it came from (a
# token or a secret, or any postback to an account that requires no token) is trusted with
# these; from the pixel under the account's token requirement they are dropped, and the
# offer's defaults apply: its default payout, in the account's currency, approved.
MONEY_PARAMS = ("revenue", "payout", "currency", "status")

# The columns of a conversion import (attribution.imports), which the `generic`
# reconciliation preset reads too.
IMPORT_COLUMNS = ("txn_id", "event", "offer", "click_id", "link_id", "contact", "revenue",
                  "payout", "status", "occurred_at")  # fmt: skip

# What `status=` may say (Conversion.Approval's values).
APPROVALS = ("approved", "pending", "rejected", "reversed")


def without_money(params: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in params.items() if name not in MONEY_PARAMS}


_MONEY_PLACES = Decimal(10) ** -bounds.MONEY_DECIMAL_PLACES


@dataclass(frozen=True)
class ConversionInput:
    event: str
    revenue: Decimal | None  # None: the payout, else the offer's default payout
    currency: str
    txn_id: str | None
    occurred_at: dt.datetime
    payout: Decimal | None = None  # None: the revenue, else the offer's default payout
    approval: str | None = None  # None: approved when new, unchanged when an update


def amounts_filled(
    revenue: Decimal | None, payout: Decimal | None, default: Decimal
) -> tuple[Decimal, Decimal]:
    """(revenue, payout) of a new conversion: one missing equals the other; both missing,
    the offer's default payout. The one definition (postbacks, the fast path's SQL
    COALESCE mirrors it, imports)."""
    if revenue is None and payout is None:
        return default, default
    return (revenue if revenue is not None else payout), (payout if payout is not None else revenue)  # type: ignore[return-value]


class PostbackInvalid(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def amounts_updated(
    stored_revenue: Decimal, stored_payout: Decimal, revenue: Decimal | None, payout: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """(revenue, payout) an update of a stored conversion sets (None: unchanged), from a
    postback's or an import row's amounts: what it sent, as new totals; one amount sent
    alone also moves the other when the two were equal (a conversion reported with one
    amount, as amounts_filled made it), so a refund sent as `revenue` alone lowers the
    payout too. The one definition (postbacks, imports)."""
    if (revenue is None) != (payout is None) and stored_revenue == stored_payout:
        amount = revenue if revenue is not None else payout
        return amount, amount
    return revenue, payout


def parse_revenue(value: str | None, default: Decimal) -> Decimal:
    return parse_amount("revenue", value, default)


def parse_amount(field: str, value: str | None, default: Decimal) -> Decimal:
    """A non-negative amount (revenue, payout) to four places, at most MONEY_MAX."""
    if value is None or value.strip() == "":
        return default
    value = value.strip()
    if not _DECIMAL_RE.match(value):
        raise PostbackInvalid(field, f"{value[:40]!r} is not a non-negative decimal such as 25.00")
    try:
        amount = Decimal(value).quantize(_MONEY_PLACES, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise PostbackInvalid(field, f"{value[:40]!r} is not a decimal") from exc
    if amount > bounds.MONEY_MAX:
        raise PostbackInvalid(field, f"must be at most {bounds.MONEY_MAX}")
    return amount


def parse_optional_amount(field: str, value: str | None) -> Decimal | None:
    """parse_amount, None when absent or empty."""
    if value is None or not value.strip():
        return None
    return parse_amount(field, value, Decimal(0))


def parse_approval(value: str | None, field: str = "status") -> str | None:
    """approved, pending, rejected or reversed (any case); None when absent or empty."""
    if value is None or not value.strip():
        return None
    approval = value.strip().lower()
    if approval not in APPROVALS:
        raise PostbackInvalid(field, f"{value[:40]!r} is not one of {', '.join(APPROVALS)}")
    return approval


def parse_currency(value: str | None, default: str) -> str:
    if value is None or value.strip() == "":
        return default
    code = value.strip().upper()
    if code not in CURRENCIES:
        raise PostbackInvalid("currency", f"{value[:20]!r} is not an ISO 4217 currency code")
    return code


def parse_event(value: str | None) -> str:
    if value is None or value.strip() == "":
        return "conversion"
    event = value.strip()
    if not _EVENT_RE.match(event):
        raise PostbackInvalid("event", "use up to 64 letters, digits, '_', '-', '.', ':'")
    return event


def parse_txn_id(value: str | None) -> str | None:
    if value is None or value.strip() == "":
        return None
    txn_id = value.strip()
    if len(txn_id) > 200:
        raise PostbackInvalid("txn_id", "must be at most 200 characters")
    return txn_id


def parse_ts(value: str | None, now: dt.datetime) -> dt.datetime:
    """Unix seconds or ISO 8601 (no offset means UTC); default: when it was received."""
    if value is None or value.strip() == "":
        return now
    value = value.strip()
    parsed: dt.datetime | None = None
    if _UNIX_RE.match(value):
        try:
            parsed = dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
        except (OverflowError, OSError, ValueError):
            parsed = None
    else:
        try:
            parsed = parse_datetime(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
    if parsed is None:
        raise PostbackInvalid("ts", f"{value[:40]!r} is not unix seconds or an ISO 8601 time")
    try:
        parsed = bounds.moment_check("ts", parsed, now=now, ahead=bounds.POSTBACK_TS_MAX_AHEAD)
    except bounds.OutOfBounds as exc:
        raise PostbackInvalid(exc.field, exc.message) from None
    return parsed
