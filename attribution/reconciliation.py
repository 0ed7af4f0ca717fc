"""Reconciliation with the network: a network's conversion report (CSV) compared with
Trackly's conversions of some offers over some local days, row by row, into buckets; the
rows to dispute; and the restate, which applies the network's figures to Trackly.

The presets (PRESETS) name each field's column in TUNE's and Everflow's exports; the
network's statuses map to approval in one table (NETWORK_STATUSES). Matching is set-based:
one query for every transaction id in the file, one for every click id. A row is matched
by transaction id, else by click id; each Trackly conversion is matched at most once.
Restating goes through attribution.adjustments (source `reconciliation`) for the rows that
differ and through attribution.services.conversion_record (the attribution rule, as a
postback) for the ones missing in Trackly. docs/reconciliation.md is the reference.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone

from attribution import postback_input
from attribution.adjustments import (
    AdjustmentInvalid,
    Change,
    Origin,
    change_check,
    conversions_adjust,
)
from attribution.models import Conversion, Reconciliation, ReconciliationRow
from attribution.postback_input import ConversionInput, PostbackInvalid
from attribution.services import conversion_record
from core import bounds
from core.models import Account, Offer
from core.spreadsheet import formula_defused
from links.models import MessageShortLinkClick
from links.selectors import clicks_by_ids

Bucket = ReconciliationRow.Bucket
Approval = Conversion.Approval

# What a network row says; `txn_id`, `status` and one of `revenue` / `payout` are required
# columns. `revenue` is the sale's value (TUNE's and Everflow's Sale Amount, compared with
# Trackly's revenue); the network's own "Revenue" (what the advertiser pays the network) is
# not read.
FIELDS = ("txn_id", "click_id", "event", "revenue", "payout", "status", "occurred_at")
REQUIRED = ("txn_id", "status")

PRESETS: dict[str, dict[str, str]] = {
    # The import's own column names (attribution.postback_input.IMPORT_COLUMNS).
    Reconciliation.Preset.GENERIC: {
        name: name for name in FIELDS if name in postback_input.IMPORT_COLUMNS
    },
    # TUNE (HasOffers) conversion report export.
    Reconciliation.Preset.TUNE: {
        "txn_id": "Transaction ID",
        "click_id": "Partner Sub ID 1",
        "payout": "Payout",
        "revenue": "Sale Amount",
        "status": "Status",
        "occurred_at": "Date / Time",
    },
    # Everflow conversion export (its Reporting > Conversions CSV).
    Reconciliation.Preset.EVERFLOW: {
        "txn_id": "transaction_id",
        "click_id": "sub1",
        "payout": "payout",
        "revenue": "sale_amount",
        "status": "status",
        "occurred_at": "conversion_unix_timestamp",
    },
}

# A network's status (any case) as Trackly's approval. A status not here puts its row among
# the rejected lines: it is never guessed.
NETWORK_STATUSES: dict[str, str] = {
    **dict.fromkeys(("approved", "approve", "accepted", "paid"), Approval.APPROVED),
    **dict.fromkeys(("pending", "hold"), Approval.PENDING),
    **dict.fromkeys(("rejected", "declined", "invalid"), Approval.REJECTED),
    **dict.fromkeys(("reversed", "refunded", "chargeback"), Approval.REVERSED),
}

# The rows the JSON shows per bucket (the disputes CSV has all of them).
ROWS_SHOWN = 1000
# The rejected lines the answer keeps.
REJECTED_SHOWN = 1000
# Lookups of ids in the file, in chunks this size (each one query).
LOOKUP_CHUNK = 10_000
DISPUTED = (Bucket.MISSING_IN_TRACKLY, Bucket.AMOUNT_DIFFERS, Bucket.STATUS_DIFFERS)
RESTATED = (Bucket.AMOUNT_DIFFERS, Bucket.STATUS_DIFFERS)

_CENT = Decimal("0.01")
# A network's amount as exports write it: "$1,234.50", "1 234.50 €", "USD 12.00".
_AMOUNT_NOISE = re.compile(r"[\s,$€£¥]|^[A-Z]{3}|[A-Z]{3}$")


class ReconciliationInvalid(ValueError):
    """Input that cannot be reconciled, naming the field (400; 404 when `status` says)."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message, self.status = field, message, status


@dataclass
class NetworkRow:
    line: int  # 1: the first line after the header
    txn_id: str
    click_id: str
    event: str
    revenue: Decimal | None
    payout: Decimal | None
    approval: str
    status: str  # as the network wrote it
    occurred_at: dt.datetime | None


@dataclass
class Parsed:
    rows: list[NetworkRow] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


# Input -----------------------------------------------------------------------------------


def columns_for(preset: str, overrides: Sequence[str]) -> dict[str, str]:
    """The preset's column of each field, with `map=field:Column` overrides."""
    if preset not in PRESETS:
        raise ReconciliationInvalid("preset", f"Must be one of {', '.join(PRESETS)}.")
    columns = dict(PRESETS[preset])
    for override in overrides:
        name, sep, column = override.partition(":")
        name, column = name.strip(), column.strip()
        if not sep or not column:
            raise ReconciliationInvalid("map", f"{override[:60]!r}: write map=field:Column.")
        if name not in FIELDS:
            raise ReconciliationInvalid(
                "map", f"{name[:40]!r} is not a field; one of {', '.join(FIELDS)}."
            )
        columns[name] = column
    return columns


def offers_check(account: Account, raw: Sequence[str]) -> list[int]:
    """The `offer` ids, each the account's (another account's looks unknown: 404)."""
    if not raw:
        raise ReconciliationInvalid("offer", "Name at least one offer (offer=<id>, repeatable).")
    ids: list[int] = []
    for value in raw:
        value = value.strip()
        if not (value.isascii() and value.isdigit() and 0 < len(value) < 19):
            raise ReconciliationInvalid("offer", f"{value[:20]!r} is not an offer id.")
        if int(value) not in ids:
            ids.append(int(value))
    if len(ids) > bounds.MAX_RECONCILIATION_OFFERS:
        raise ReconciliationInvalid(
            "offer", f"At most {bounds.MAX_RECONCILIATION_OFFERS} offers per reconciliation."
        )
    found = set(Offer.objects.filter(account=account, pk__in=ids).values_list("pk", flat=True))
    unknown = [pk for pk in ids if pk not in found]
    if unknown:
        raise ReconciliationInvalid("offer", f"No offer {unknown[0]} in this account.", 404)
    return ids


def days_check(account: Account, start: str | None, end: str | None) -> tuple[dt.date, dt.date]:
    """`start` and `end`, both required, local days held to core.bounds.day_range."""
    days: dict[str, dt.date] = {}
    for name, raw in (("start", start), ("end", end)):
        raw = (raw or "").strip()
        if not raw:
            raise ReconciliationInvalid(name, "Required: a date, YYYY-MM-DD.")
        try:
            if len(raw) != 10:
                raise ValueError
            days[name] = dt.date.fromisoformat(raw)
        except ValueError:
            raise ReconciliationInvalid(name, "Must be a date, YYYY-MM-DD.") from None
    today = timezone.now().astimezone(zoneinfo.ZoneInfo(account.time_zone)).date()
    try:
        bounds.day_range(days["start"], days["end"], today=today, default_span_days=None)
    except bounds.OutOfBounds as exc:
        raise ReconciliationInvalid(exc.field, exc.message) from None
    return days["start"], days["end"]


def network_amount(name: str, value: str) -> Decimal | None:
    """An amount as a network export writes it; currency symbols, codes and thousands
    separators are dropped, then it parses as a postback's (never negative)."""
    cleaned = _AMOUNT_NOISE.sub("", value.strip().upper())
    return postback_input.parse_optional_amount(name, cleaned)


def network_time(name: str, value: str, now: dt.datetime) -> dt.datetime | None:
    """Unix seconds (Everflow) or "2026-11-03 14:05:00" / ISO 8601 (TUNE); no offset is
    UTC (the networks' exports default to it)."""
    if not value.strip():
        return None
    try:
        return postback_input.parse_ts(value, now)
    except PostbackInvalid as exc:
        raise PostbackInvalid(name, exc.message) from None


def network_rows_parse(body: bytes, columns: Mapping[str, str]) -> Parsed:
    """The file's rows, each checked; a bad one goes to `rejected` with its line and why.
    Raises ReconciliationInvalid for a file that cannot be read or lacks a required column
    (named by the column, in `field`)."""
    try:
        text = body.decode("utf-8-sig")  # a BOM, as spreadsheets write, is tolerated
    except UnicodeDecodeError as exc:
        raise ReconciliationInvalid("body", f"Not UTF-8 text (byte {exc.start}).") from None
    if "\x00" in text:
        raise ReconciliationInvalid("body", "Contains a NUL character: not a CSV file.")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ReconciliationInvalid(
            "body", "The file is empty: send the CSV with its header."
        ) from None
    except csv.Error as exc:
        raise ReconciliationInvalid("body", f"Not a CSV file: {exc}.") from None
    position = {name: i for i, name in reversed(list(enumerate(header)))}
    for name in REQUIRED:
        if columns.get(name) not in position:
            column = columns.get(name, name)
            raise ReconciliationInvalid(
                column, f"The file has no {column!r} column ({name}); map={name}:<column> "
                "names another.",
            )  # fmt: skip
    if not any(columns.get(name) in position for name in ("revenue", "payout")):
        column = columns.get("payout", "payout")
        raise ReconciliationInvalid(
            column, f"The file has no {column!r} column (payout) nor "
            f"{columns.get('revenue', 'revenue')!r} (revenue): one is required.",
        )  # fmt: skip
    index = {name: position[columns[name]] for name in FIELDS if columns.get(name) in position}
    now = timezone.now()
    parsed = Parsed()
    seen: dict[tuple[str, str], int] = {}
    line = 0
    try:
        for cells in reader:
            line += 1
            if line > bounds.MAX_IMPORT_ROWS:
                raise ReconciliationInvalid(
                    "body", f"At most {bounds.MAX_IMPORT_ROWS:,} rows per file; split it."
                )
            if not any(cell.strip() for cell in cells):
                continue
            values = {name: (cells[i] if i < len(cells) else "") for name, i in index.items()}
            try:
                row = _row(line, values, columns, now)
            except PostbackInvalid as exc:
                parsed.rejected.append({"line": line, "reason": f"{exc.field}: {exc.message}"})
                continue
            if row.txn_id:
                key = (row.txn_id, row.event)
                if key in seen:
                    parsed.rejected.append(
                        {"line": line, "reason": f"txn_id {row.txn_id!r} repeats line {seen[key]}"}
                    )
                    continue
                seen[key] = line
            parsed.rows.append(row)
    except csv.Error as exc:
        raise ReconciliationInvalid("body", f"Line {line + 1} is not CSV: {exc}.") from None
    return parsed


def _row(
    line: int, values: dict[str, str], columns: Mapping[str, str], now: dt.datetime
) -> NetworkRow:
    def column(name: str) -> str:
        return columns.get(name, name)

    txn_id = values.get("txn_id", "").strip()
    click_id = values.get("click_id", "").strip()
    if not txn_id and not click_id:
        raise PostbackInvalid(column("txn_id"), "empty, and no click id either")
    if len(txn_id) > 200:
        raise PostbackInvalid(column("txn_id"), "must be at most 200 characters")
    if len(click_id) > 32:
        raise PostbackInvalid(column("click_id"), "must be at most 32 characters")
    event = values.get("event", "").strip()
    if event:
        event = postback_input.parse_event(event)
    status = values.get("status", "").strip()
    approval = NETWORK_STATUSES.get(status.lower())
    if approval is None:
        raise PostbackInvalid(
            column("status"),
            f"{status[:40]!r} is not a status Trackly knows (docs/reconciliation.md)",
        )
    return NetworkRow(
        line=line,
        txn_id=txn_id,
        click_id=click_id,
        event=event,
        revenue=network_amount(column("revenue"), values.get("revenue", "")),
        payout=network_amount(column("payout"), values.get("payout", "")),
        approval=approval,
        status=status[:64],
        occurred_at=network_time(column("occurred_at"), values.get("occurred_at", ""), now),
    )


# Matching ------------------------------------------------------------------------------


_COMPARED = ("id", "txn_id", "event", "offer_id", "occurred_at", "revenue", "payout",
             "approval", "reported_click_id", "message_click__click_id")  # fmt: skip
# The credited click's id is read from the counted click, which keeps it: the raw click may
# have been pruned by retention (attribution.conversion_events.credited_click_ref).


def _compared(account: Account, offers: list[int]) -> QuerySet[Conversion, dict[str, Any]]:
    """Trackly's side: the account's conversions on the offers, any approval (one still
    waiting for its click has no offer yet: it settles within minutes)."""
    return (
        Conversion.objects.filter(account=account, offer_id__in=offers)
        .filter(status__in=[Conversion.Status.ACCEPTED, Conversion.Status.PENDING])
        .values(*_COMPARED)
        .order_by("id")
    )


def _chunks(values: Iterable[str]) -> Iterator[list[str]]:
    values = list(values)
    for start in range(0, len(values), LOOKUP_CHUNK):
        yield values[start : start + LOOKUP_CHUNK]


def _preferred(candidates: list[dict[str, Any]], event: str) -> list[dict[str, Any]]:
    """Several events of one transaction or click: the row's event if it names one, else
    `conversion`, else the first stored."""
    return sorted(
        candidates,
        key=lambda c: (not event or c["event"] != event, c["event"] != "conversion", c["id"]),
    )


def cents(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else amount.quantize(_CENT, ROUND_HALF_UP)


def reconciliation_create(
    *,
    account: Account,
    preset: str,
    offers: list[int],
    start: dt.date,
    end: dt.date,
    columns: dict[str, str],
    body: bytes,
    actor: str = "",
    filename: str = "",
) -> Reconciliation:
    """Compare the file with Trackly's conversions and store the result (its rows and
    summary). `offers`, the days and the columns already checked (offers_check,
    days_check, columns_for); a file that cannot be read raises ReconciliationInvalid."""
    parsed = network_rows_parse(body, columns)
    compared = _compared(account, offers)
    by_txn: dict[str, list[dict[str, Any]]] = {}
    for chunk in _chunks({r.txn_id for r in parsed.rows if r.txn_id}):
        for c in compared.filter(txn_id__in=chunk):
            by_txn.setdefault(c["txn_id"], []).append(c)
    by_click: dict[str, list[dict[str, Any]]] = {}
    for chunk in _chunks({r.click_id for r in parsed.rows if r.click_id}):
        for c in compared.filter(
            Q(reported_click_id__in=chunk) | Q(message_click__click_id__in=chunk)
        ):
            for click_id in {c["reported_click_id"], c["message_click__click_id"]} - {"", None}:
                by_click.setdefault(click_id, []).append(c)
    defaults = dict(
        Offer.objects.filter(account=account, pk__in=offers).values_list("pk", "default_payout")
    )
    click_offers = _click_offers(account, [r for r in parsed.rows if r.click_id])
    claimed: set[int] = set()
    rows: list[ReconciliationRow] = []
    for network in parsed.rows:
        conversion = None
        for candidates in (by_txn.get(network.txn_id, []), by_click.get(network.click_id, [])):
            for c in _preferred(candidates, network.event):
                if c["id"] not in claimed:
                    conversion = c
                    break
            if conversion is not None:
                break
        if conversion is not None:
            claimed.add(conversion["id"])
        rows.append(_network_row(network, conversion, defaults, click_offers))
    lower, upper = account.day_bounds(start, end)
    for c in compared.filter(occurred_at__gte=lower, occurred_at__lt=upper).iterator():
        if c["id"] not in claimed:
            rows.append(
                ReconciliationRow(
                    bucket=Bucket.MISSING_AT_NETWORK,
                    txn_id=c["txn_id"] or "",
                    click_id=c["message_click__click_id"] or c["reported_click_id"] or "",
                    offer_id=c["offer_id"],
                    conversion_id=c["id"],
                    occurred_at=c["occurred_at"],
                    trackly_revenue=c["revenue"],
                    trackly_payout=c["payout"],
                    trackly_approval=c["approval"],
                )
            )
    with transaction.atomic():
        reconciliation = Reconciliation.objects.create(
            account=account, preset=preset, columns=columns, offers=offers, start=start,
            end=end, actor=actor[:200], filename=filename[:200],
        )  # fmt: skip
        for row in rows:
            row.reconciliation = reconciliation
        ReconciliationRow.objects.bulk_create(rows, batch_size=2000)
        reconciliation.summary = _summary(reconciliation, parsed.rejected)
        reconciliation.save(update_fields=["summary"])
    return reconciliation


def _click_offers(account: Account, rows: list[NetworkRow]) -> dict[str, int | None]:
    """The offer of each stored click the rows name (for the ones missing in Trackly)."""
    found: dict[str, int | None] = {}
    for chunk in _chunks({r.click_id for r in rows}):
        found.update(
            clicks_by_ids(
                MessageShortLinkClick.objects.filter(account=account).values_list(
                    "click_id", "short_link__offer_id"
                ),
                chunk,
                key=lambda c: c[0],
            )
        )
    return found


def _network_row(
    network: NetworkRow,
    conversion: dict[str, Any] | None,
    defaults: dict[int, Decimal],
    click_offers: dict[str, int | None],
) -> ReconciliationRow:
    offer_id = conversion["offer_id"] if conversion else click_offers.get(network.click_id)
    # One amount missing equals the other; both: the offer's default payout (the postback
    # rule, attribution.postback_input.amounts_filled).
    revenue, payout = postback_input.amounts_filled(
        network.revenue, network.payout, defaults.get(offer_id, Decimal(0))
    )
    row = ReconciliationRow(
        line=network.line,
        txn_id=network.txn_id,
        click_id=network.click_id,
        offer_id=offer_id,
        occurred_at=network.occurred_at,
        network_revenue=revenue,
        network_payout=payout,
        network_approval=network.approval,
        network_status=network.status,
    )
    if conversion is None:
        row.bucket = Bucket.MISSING_IN_TRACKLY
        return row
    row.conversion_id = conversion["id"]
    row.txn_id = row.txn_id or conversion["txn_id"] or ""
    row.occurred_at = conversion["occurred_at"]
    row.trackly_revenue = conversion["revenue"]
    row.trackly_payout = conversion["payout"]
    row.trackly_approval = conversion["approval"]
    # Approval differing wins over amounts differing: the row shows both, and a restate
    # applies both.
    if network.approval != conversion["approval"]:
        row.bucket = Bucket.STATUS_DIFFERS
    elif cents(revenue) != cents(conversion["revenue"]) or cents(payout) != cents(
        conversion["payout"]
    ):
        row.bucket = Bucket.AMOUNT_DIFFERS
    else:
        row.bucket = Bucket.MATCHED
    return row


def _summary(reconciliation: Reconciliation, rejected: list[dict[str, Any]]) -> dict[str, Any]:
    """Per bucket its count and totals: Trackly's amounts for missing_at_network (the
    network has none), the network's for the others."""
    summary: dict[str, Any] = {
        bucket: {"count": 0, "total": {"revenue": "0.00", "payout": "0.00"}}
        for bucket in Bucket.values
    }
    for found in (
        ReconciliationRow.objects.filter(reconciliation=reconciliation)
        .values("bucket")
        .annotate(
            count=Count("id"),
            network_revenue=Sum("network_revenue"),
            network_payout=Sum("network_payout"),
            trackly_revenue=Sum("trackly_revenue"),
            trackly_payout=Sum("trackly_payout"),
        )
    ):
        side = "trackly" if found["bucket"] == Bucket.MISSING_AT_NETWORK else "network"
        summary[found["bucket"]] = {
            "count": found["count"],
            "total": {
                "revenue": money(found[f"{side}_revenue"] or Decimal(0)),
                "payout": money(found[f"{side}_payout"] or Decimal(0)),
            },
        }
    summary["rejected"] = {"count": len(rejected), "lines": rejected[:REJECTED_SHOWN]}
    return summary


# Reading -------------------------------------------------------------------------------


def money(amount: Decimal | None) -> str | None:
    return None if amount is None else str(cents(amount))


def iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def reconciliations_of(account: Account) -> QuerySet[Reconciliation]:
    return Reconciliation.objects.filter(account=account).order_by("-created_at", "-id")


def row_data(row: ReconciliationRow) -> dict[str, Any]:
    """A row as the API shows it; `network` null for a conversion the network lacks,
    `trackly` null for a network row Trackly lacks."""
    network = None
    if row.bucket != Bucket.MISSING_AT_NETWORK:
        network = {
            "revenue": money(row.network_revenue),
            "payout": money(row.network_payout),
            "approval": row.network_approval,
            "status": row.network_status,
        }
    trackly = None
    if row.bucket != Bucket.MISSING_IN_TRACKLY:
        trackly = {
            "revenue": money(row.trackly_revenue),
            "payout": money(row.trackly_payout),
            "approval": row.trackly_approval or None,
        }
    return {
        "line": row.line,
        "txn_id": row.txn_id or None,
        "click_id": row.click_id or None,
        "offer_id": row.offer_id,
        "conversion_id": row.conversion_id,
        "occurred_at": iso(row.occurred_at),
        "network": network,
        "trackly": trackly,
        "restated": row.restated,
    }


def reconciliation_data(reconciliation: Reconciliation, *, rows: bool = True) -> dict[str, Any]:
    """The reconciliation as the API answers it: per bucket its count, totals and (with
    `rows`) its first ROWS_SHOWN rows, `truncated` when there are more."""
    summary = reconciliation.summary
    data: dict[str, Any] = {
        "id": reconciliation.pk,
        "preset": reconciliation.preset,
        "columns": reconciliation.columns,
        "offers": reconciliation.offers,
        "start": reconciliation.start.isoformat(),
        "end": reconciliation.end.isoformat(),
        "filename": reconciliation.filename,
        "created_at": iso(reconciliation.created_at),
        "restated_at": iso(reconciliation.restated_at),
    }
    for bucket in Bucket.values:
        found = summary.get(bucket, {"count": 0, "total": {"revenue": "0.00", "payout": "0.00"}})
        data[bucket] = {"count": found["count"], "total": found["total"]}
        if rows:
            shown = list(bucket_rows(reconciliation, bucket)[: ROWS_SHOWN + 1])
            data[bucket]["rows"] = [row_data(r) for r in shown[:ROWS_SHOWN]]
            data[bucket]["truncated"] = len(shown) > ROWS_SHOWN
    data["rejected"] = summary.get("rejected", {"count": 0, "lines": []})
    return data


def bucket_rows(reconciliation: Reconciliation, bucket: str) -> QuerySet[ReconciliationRow]:
    return ReconciliationRow.objects.filter(reconciliation=reconciliation, bucket=bucket).order_by(
        "id"
    )


DISPUTE_COLUMNS = ("issue", "line", "txn_id", "click_id", "occurred_at", "network_status",
                   "network_approval", "network_revenue", "network_payout", "trackly_approval",
                   "trackly_revenue", "trackly_payout", "revenue_difference",
                   "payout_difference", "conversion_id")  # fmt: skip


def dispute_lines(reconciliation: Reconciliation) -> Iterator[list[str]]:
    """The disputes CSV: a header, then every row the network should hear about (missing
    in Trackly, amounts or status differing), in file order; text cells defused."""
    yield list(DISPUTE_COLUMNS)
    queryset = ReconciliationRow.objects.filter(
        reconciliation=reconciliation, bucket__in=DISPUTED
    ).order_by("line", "id")
    for row in queryset.iterator(chunk_size=2000):
        yield [
            row.bucket,
            str(row.line or ""),
            formula_defused(row.txn_id),
            formula_defused(row.click_id),
            iso(row.occurred_at) or "",
            formula_defused(row.network_status),
            row.network_approval,
            money(row.network_revenue) or "",
            money(row.network_payout) or "",
            row.trackly_approval,
            money(row.trackly_revenue) or "",
            money(row.trackly_payout) or "",
            _difference(row.network_revenue, row.trackly_revenue),
            _difference(row.network_payout, row.trackly_payout),
            str(row.conversion_id or ""),
        ]


def _difference(network: Decimal | None, trackly: Decimal | None) -> str:
    """What the network says minus what Trackly has (Trackly has nothing: all of it)."""
    if network is None:
        return ""
    return money(network - (trackly or Decimal(0))) or ""


# Restating -----------------------------------------------------------------------------


def reconciliation_restate(
    *, account: Account, reconciliation_id: int, actor: str = ""
) -> dict[str, Any]:
    """Apply the network's figures: the rows that differ are adjusted (source
    `reconciliation`), the ones missing in Trackly created as their postback would have
    been. Rows done are marked `restated`, so a second restate changes nothing; the
    conversions the network lacks are left to a person. Returns {"adjusted", "created",
    "skipped": [{"line", "reason"}]}."""
    with transaction.atomic():
        # Race: two restates of one reconciliation at once (a double click). The row lock
        # makes the second wait, then find every row already restated.
        reconciliation = Reconciliation.objects.select_for_update().get(
            pk=reconciliation_id, account=account
        )
        origin = Origin(
            source="reconciliation",
            reason=f"restated from reconciliation {reconciliation.pk}",
            actor=actor[:200],
            reconciliation_id=reconciliation.pk,
        )
        skipped: list[dict[str, Any]] = []
        adjusted = _restate_differing(reconciliation, origin, skipped)
        created = _restate_missing(reconciliation, skipped)
        reconciliation.restated_at = timezone.now()
        reconciliation.save(update_fields=["restated_at"])
    return {"adjusted": adjusted, "created": created, "skipped": skipped}


def _restate_differing(
    reconciliation: Reconciliation, origin: Origin, skipped: list[dict[str, Any]]
) -> int:
    rows = list(
        ReconciliationRow.objects.filter(
            reconciliation=reconciliation, bucket__in=RESTATED, restated=False
        )
        .select_related("conversion__offer")
        .order_by("id")
    )
    changes: list[tuple[int, Change]] = []
    done: list[ReconciliationRow] = []
    for row in rows:
        if row.conversion is None:
            skipped.append({"line": row.line, "reason": "its conversion was deleted"})
            continue
        change = Change(
            approval=row.network_approval, revenue=row.network_revenue, payout=row.network_payout
        )
        try:
            change_check(row.conversion, change)
        except AdjustmentInvalid as exc:
            skipped.append({"line": row.line, "reason": f"{exc.field}: {exc.message}"})
            continue
        changes.append((row.conversion_id, change))
        row.restated = True
        done.append(row)
    adjustments = conversions_adjust(changes, origin)
    ReconciliationRow.objects.bulk_update(done, ["restated"], batch_size=2000)
    return len(adjustments)


def _restate_missing(reconciliation: Reconciliation, skipped: list[dict[str, Any]]) -> int:
    account = reconciliation.account
    rows = list(
        ReconciliationRow.objects.filter(
            reconciliation=reconciliation, bucket=Bucket.MISSING_IN_TRACKLY, restated=False
        ).order_by("id")
    )
    clicks: dict[str, MessageShortLinkClick] = {}
    for chunk in _chunks({r.click_id for r in rows if r.click_id}):
        clicks.update(
            (c.click_id, c)
            for c in clicks_by_ids(
                MessageShortLinkClick.objects.filter(account=account).select_related(
                    "short_link__offer"
                ),
                chunk,
                key=lambda c: c.click_id,
            )
        )
    only_offer = None
    if len(reconciliation.offers) == 1:
        only_offer = Offer.objects.filter(account=account, pk=reconciliation.offers[0]).first()
    created = 0
    done: list[ReconciliationRow] = []
    for row in rows:
        reason = _create_missing(account, reconciliation, row, clicks.get(row.click_id), only_offer)
        if reason:
            skipped.append({"line": row.line, "reason": reason})
            continue
        created += 1
        row.restated = True
        done.append(row)
    ReconciliationRow.objects.bulk_update(done, ["restated", "conversion"], batch_size=2000)
    return created


def _create_missing(
    account: Account,
    reconciliation: Reconciliation,
    row: ReconciliationRow,
    click: MessageShortLinkClick | None,
    only_offer: Offer | None,
) -> str:
    """Record the conversion the network has and Trackly lacks; returns why not, if not."""
    if row.occurred_at is None:
        return "no date: the file gives none for this row"
    link = click.short_link if click is not None else None
    offer = link.offer if link is not None else only_offer
    if link is not None and (offer is None or offer.pk not in reconciliation.offers):
        return f"click {row.click_id} is not on an offer of this reconciliation"
    if offer is None:
        return (
            f"click {row.click_id or '(none)'} is unknown and the reconciliation has several "
            "offers: which one it is for is not known"
        )
    for amount in (row.network_revenue, row.network_payout):
        if amount is not None and not offer.revenue_within_cap(amount):
            return "revenue is above this offer's revenue cap"
    data = ConversionInput(
        event="conversion",
        revenue=row.network_revenue,
        payout=row.network_payout,
        currency=account.currency,
        txn_id=row.txn_id or None,
        occurred_at=row.occurred_at,
        approval=row.network_approval or None,
    )
    try:
        conversion, created = conversion_record(
            account=account, data=data, log=None,
            contact_id=link.contact_id if link else None, offer=offer,
            reported_click_id=row.click_id, reported_link=link,
            message_id=link.message_id if link else None,
        )  # fmt: skip
    except PostbackInvalid as exc:
        return f"{exc.field}: {exc.message}"
    if not created:
        return f"txn_id {row.txn_id} is already stored (conversion {conversion.pk})"
    row.conversion = conversion
    return ""
