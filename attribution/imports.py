"""CSV conversion imports: parse a file, resolve its rows set-based, and apply it in one
transaction (or, for a dry run, only count what it would do).

A row whose (txn_id, event) is stored updates that conversion through
attribution.adjustments (its revenue, payout and status, the columns given, as new totals);
the others are inserted in bulk and credited by the attribution rule's own SQL for the whole
file at once (attribution.rules.conversions_attribute_listed). Every row gets a PostbackLog
entry (endpoint "import"), inserted in bulk. docs/imports.md is the reference.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from attribution import postback_input as parse
from attribution.adjustments import (
    AdjustmentInvalid,
    Change,
    Origin,
    change_check,
    changed,
    conversions_adjust,
)
from attribution.contacts import contacts_find
from attribution.fraud import conversion_injection_check
from attribution.models import Conversion, ConversionAdjustment, ConversionImport, PostbackLog
from attribution.rules import conversions_attribute_listed
from core import bounds
from core.models import Account, Offer
from links import ids
from links.models import MessageShortLink, MessageShortLinkClick
from links.selectors import clicks_by_ids

logger = logging.getLogger(__name__)

ENDPOINT = "import"
REFERENCES = ("click_id", "link_id", "contact")
OFFER_LEVEL_REASON = "offer-level conversion: no contact named"


class ImportInvalid(ValueError):
    """A file that cannot be imported at all (the API answers 400 naming `field`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass
class Row:
    """One data line: as written (`cells`), as parsed, and what became of it."""

    number: int  # 1: the first line after the header
    cells: dict[str, str]
    txn_id: str = ""
    event: str = "conversion"
    offer_id: int | None = None
    click_id: str = ""
    link_id: str = ""
    contact: str = ""
    revenue: Decimal | None = None
    payout: Decimal | None = None
    approval: str | None = None
    occurred_at: dt.datetime | None = None
    rejected: str = ""  # the reason; "" while it stands
    outcome: str = ""  # PostbackLog.Outcome once decided
    conversion_id: int | None = None  # the stored one it updates, or the one inserted
    new: dict[str, Any] = field(default_factory=dict)  # a new conversion's columns

    def reject(self, reason: str) -> None:
        self.rejected, self.outcome = reason, PostbackLog.Outcome.REJECTED

    @property
    def key(self) -> tuple[str, str]:
        return self.txn_id, self.event


@dataclass
class Result:
    rows: int
    created: int
    updated: int
    unchanged: int
    rejected: list[dict[str, Any]]


# Reading the file ----------------------------------------------------------------------


def text_of(body: bytes) -> str:
    """The body as text: UTF-8, a byte order mark tolerated."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportInvalid("body", f"is not UTF-8 (byte {exc.start})") from None


def file_check(text: str) -> tuple[list[str], int]:
    """The header's columns and the number of data rows; ImportInvalid when the file
    cannot be imported (empty, no header, an unknown or repeated column, no txn_id, too
    many rows)."""
    if "\x00" in text:
        raise ImportInvalid("body", "contains a NUL character")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        if not header or not any(cell.strip() for cell in header):
            raise ImportInvalid("body", "is empty: send a header line, then one line a row")
        columns = [cell.strip().lower() for cell in header]
        for column in columns:
            if column not in parse.IMPORT_COLUMNS:
                raise ImportInvalid(
                    column[:60] or "header",
                    f"unknown column {column[:60]!r}; the columns are "
                    f"{', '.join(parse.IMPORT_COLUMNS)}",
                )
            if columns.count(column) > 1:
                raise ImportInvalid(column, "appears twice in the header")
        if "txn_id" not in columns:
            raise ImportInvalid("txn_id", "the header has no txn_id column (it is required)")
        rows = 0
        for record in reader:
            if any(cell.strip() for cell in record):
                rows += 1
                if rows > bounds.MAX_IMPORT_ROWS:
                    raise ImportInvalid(
                        "body", f"has more than {bounds.MAX_IMPORT_ROWS:,} rows; split the file"
                    )
    except csv.Error as exc:
        raise ImportInvalid("body", f"is not CSV: {exc}") from None
    return columns, rows


def rows_read(text: str, now: dt.datetime) -> list[Row]:
    """Every non-blank data line, parsed; a bad one rejected with its reason."""
    reader = csv.reader(io.StringIO(text))
    columns = [cell.strip().lower() for cell in next(reader)]
    out = []
    for number, record in enumerate(reader, start=1):
        if not any(cell.strip() for cell in record):
            continue  # a blank line (a trailing one, most often)
        row = Row(number=number, cells=dict(zip(columns, record, strict=False)))
        if len(record) != len(columns):
            row.reject(f"has {len(record)} cells; the header has {len(columns)}")
        else:
            try:
                _row_parse(row, now)
            except parse.PostbackInvalid as exc:
                row.reject(f"{exc.field}: {exc.message}")
        out.append(row)
    return out


def _row_parse(row: Row, now: dt.datetime) -> None:
    cells = {name: value.strip() for name, value in row.cells.items()}
    txn_id = parse.parse_txn_id(cells.get("txn_id"))
    if txn_id is None:
        raise parse.PostbackInvalid("txn_id", "is required")
    row.txn_id = txn_id
    row.event = parse.parse_event(cells.get("event"))
    offer = cells.get("offer", "")
    if offer:
        if not (offer.isascii() and offer.isdigit()) or len(offer) > 18:
            raise parse.PostbackInvalid("offer", f"{offer[:40]!r} is not an offer id")
        row.offer_id = int(offer)
    named = [name for name in REFERENCES if cells.get(name)]
    if len(named) > 1:
        raise parse.PostbackInvalid(named[1], f"give one of {', '.join(REFERENCES)}, not several")
    row.click_id, row.link_id = cells.get("click_id", ""), cells.get("link_id", "")
    row.contact = cells.get("contact", "")[:200]
    if row.click_id and not ids.is_click_id(row.click_id):
        raise parse.PostbackInvalid("click_id", "must be 16 letters or digits")
    if row.link_id and not ids.is_link_id(row.link_id):
        raise parse.PostbackInvalid("link_id", "must be 7 letters or digits")
    row.revenue = parse.parse_optional_amount("revenue", cells.get("revenue"))
    row.payout = parse.parse_optional_amount("payout", cells.get("payout"))
    row.approval = parse.parse_approval(cells.get("status"), "status")
    try:
        row.occurred_at = parse.parse_ts(cells.get("occurred_at"), now)
    except parse.PostbackInvalid as exc:
        raise parse.PostbackInvalid("occurred_at", exc.message) from None


# Resolving the rows, set-based ---------------------------------------------------------


def _stored(account: Account, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """The conversions already stored under these (txn_id, event) keys."""
    if not keys:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT cv.txn_id, cv.event, cv.id FROM attribution_conversion cv
            JOIN unnest(%s::text[], %s::text[]) AS k(txn_id, event)
              ON cv.txn_id = k.txn_id AND cv.event = k.event
            WHERE cv.account_id = %s AND cv.txn_id IS NOT NULL
            """,
            [[k[0] for k in keys], [k[1] for k in keys], account.pk],
        )
        return {(txn_id, event): pk for txn_id, event, pk in cursor.fetchall()}


def _new_rows_resolve(account: Account, rows: list[Row], now: dt.datetime) -> None:
    """The columns of each new row's conversion, or its rejection."""
    offers = Offer.objects.filter(
        account=account, pk__in={r.offer_id for r in rows if r.offer_id is not None}
    ).in_bulk()
    clicks = {
        c["click_id"]: c
        for c in clicks_by_ids(
            MessageShortLinkClick.objects.filter(account=account).values(
                "click_id", "contact_id", "short_link_id", "short_link__offer_id"
            ),
            {r.click_id for r in rows if r.click_id},
            key=lambda c: c["click_id"],
        )
    }
    links = {
        link["link_id"]: link
        for link in MessageShortLink.objects.filter(
            account=account, link_id__in={r.link_id for r in rows if r.link_id}
        ).values("link_id", "pk", "contact_id", "offer_id")
    }
    contacts = contacts_find(account, {r.contact for r in rows if r.contact})
    linked_offers = {c["short_link__offer_id"] for c in clicks.values()} | {
        link["offer_id"] for link in links.values()
    }
    offers |= Offer.objects.filter(pk__in=linked_offers - set(offers) - {None}).in_bulk()

    for row in rows:
        # What a new conversion must name (a stored one's update needs only its key).
        if row.contact and row.offer_id is None:
            row.reject("offer: is required with contact")
            continue
        if not (row.click_id or row.link_id or row.contact or row.offer_id is not None):
            row.reject("click_id: give click_id, link_id or contact (with offer), or offer alone")
            continue
        if row.offer_id is not None and row.offer_id not in offers:
            row.reject(f"offer: unknown offer {row.offer_id}")
            continue
        new: dict[str, Any] = {
            "contact_id": None, "reported_link_id": None, "offer_id": row.offer_id,
            "attribution_type": Conversion.AttributionType.NONE.value, "unattributed_reason": "",
        }  # fmt: skip
        if row.click_id:
            click = clicks.get(row.click_id)
            if click is None:
                # Imports never wait for a click (a postback does, PENDING_TIMEOUT): kept
                # unattributed, saying so.
                new["unattributed_reason"] = f"click {row.click_id} not found"
            else:
                linked = {
                    "contact_id": click["contact_id"],
                    "reported_link_id": click["short_link_id"],
                    "offer_id": click["short_link__offer_id"],
                }
                if not _offer_agrees(row, linked["offer_id"], f"click {row.click_id}"):
                    continue
                new |= linked
        elif row.link_id:
            link = links.get(row.link_id)
            if link is None:
                row.reject(f"link_id: unknown link {row.link_id}")
                continue
            if not _offer_agrees(row, link["offer_id"], f"link {row.link_id}"):
                continue
            new |= {"contact_id": link["contact_id"], "reported_link_id": link["pk"],
                    "offer_id": link["offer_id"]}  # fmt: skip
        elif row.contact:
            if row.contact not in contacts:
                row.reject(f"contact: unknown contact {row.contact[:60]!r}")
                continue
            new["contact_id"] = contacts[row.contact]
        else:
            new["attribution_type"] = Conversion.AttributionType.OFFER.value
            new["unattributed_reason"] = OFFER_LEVEL_REASON
        offer = offers.get(new["offer_id"]) if new["offer_id"] is not None else None
        revenue, payout = parse.amounts_filled(
            row.revenue, row.payout, offer.default_payout if offer else Decimal(0)
        )
        over = _over_cap(offer, revenue=revenue, payout=payout)
        if over:
            row.reject(over)
            continue
        row.new = new | {
            "revenue": revenue,
            "payout": payout,
            "revenue_reported": row.revenue is not None or row.payout is not None,
            "approval": row.approval or Conversion.Approval.APPROVED.value,
        }
        row.outcome = PostbackLog.Outcome.ACCEPTED


def _offer_agrees(row: Row, linked_offer: int | None, what: str) -> bool:
    if row.offer_id is not None and row.offer_id != linked_offer:
        row.reject(f"offer: {row.offer_id} is not the offer of {what}")
        return False
    return True


def _over_cap(offer: Offer | None, **amounts: Decimal) -> str:
    for name, amount in amounts.items():
        if offer is not None and not offer.revenue_within_cap(amount):
            return f"{name}: is above this offer's revenue cap"
    return ""


def _changes_check(rows: list[Row]) -> list[tuple[int, Change]]:
    """Each update row's change, checked as attribution.adjustments checks it; a change
    that changes nothing marks its row a duplicate (unchanged)."""
    stored = Conversion.objects.select_related("offer").in_bulk([r.conversion_id for r in rows])
    changes = []
    for row in rows:
        conversion = stored[row.conversion_id]
        revenue, payout = parse.amounts_updated(
            conversion.revenue, conversion.payout, row.revenue, row.payout
        )
        change = Change(approval=row.approval, revenue=revenue, payout=payout)
        try:
            change_check(conversion, change)
        except AdjustmentInvalid as exc:
            row.reject(f"{exc.field}: {exc.message}")
            continue
        if changed(conversion, change):
            row.outcome = PostbackLog.Outcome.UPDATED
            changes.append((conversion.pk, change))
        else:
            row.outcome = PostbackLog.Outcome.DUPLICATE
    return changes


# Applying it ---------------------------------------------------------------------------


def import_apply(
    account: Account,
    text: str,
    *,
    dry_run: bool,
    conversion_import_id: int | None = None,
    actor: str = "",
    now: dt.datetime | None = None,
) -> Result:
    """Import (or, dry, only count) a checked file (file_check) for `account`."""
    now = now or timezone.now()
    rows = rows_read(text, now)
    standing = _in_file_repeats_reject([r for r in rows if not r.rejected])
    stored = _stored(account, list({r.key for r in standing}))
    updates = [r for r in standing if r.key in stored]
    for row in updates:
        row.conversion_id = stored[row.key]
    _new_rows_resolve(account, [r for r in standing if r.key not in stored], now)
    if dry_run:
        _changes_check(updates)
        return _result(rows)
    origin = Origin(
        source=ConversionAdjustment.Source.IMPORT, actor=actor,
        conversion_import_id=conversion_import_id,
    )  # fmt: skip
    with transaction.atomic():
        log_ids = _log_ids(len(rows))
        for row, log_id in zip(rows, log_ids, strict=True):
            row.new["postback_log_id"] = log_id
        new = [r for r in rows if r.outcome == PostbackLog.Outcome.ACCEPTED]
        # Race: a postback (or another import) storing the same (txn_id, event) since
        # _stored looked. ON CONFLICT lets the stored row win; this file's row updates it.
        raced = _conversions_insert(account, new, now)
        if raced:
            again = _stored(account, [r.key for r in raced])
            for row in raced:
                row.conversion_id = again[row.key]
            updates += raced
        credited = [r.conversion_id for r in new if r.conversion_id and r.new["contact_id"]]
        _conversions_credit(credited)
        changes = _changes_check(updates)
        # A conversion another writer changed since _changes_check looked is compared
        # again under its row lock: what it skips was unchanged after all.
        adjusted = {a.conversion_id for a in conversions_adjust(changes, origin, now=now)}
        for row in updates:
            if row.outcome == PostbackLog.Outcome.UPDATED and row.conversion_id not in adjusted:
                row.outcome = PostbackLog.Outcome.DUPLICATE
        _logs_insert(account, rows, log_ids, conversion_import_id, now)
        return _result(rows)


def _in_file_repeats_reject(rows: list[Row]) -> list[Row]:
    """The first row of each (txn_id, event) in the file stands; a repeat is rejected."""
    first: dict[tuple[str, str], int] = {}
    standing = []
    for row in rows:
        if row.key in first:
            row.reject(
                f"txn_id: repeats txn_id {row.txn_id!r}, event {row.event!r} "
                f"of row {first[row.key]}"
            )
        else:
            first[row.key] = row.number
            standing.append(row)
    return standing


def _result(rows: list[Row]) -> Result:
    outcomes = [r.outcome for r in rows]
    return Result(
        rows=len(rows),
        created=outcomes.count(PostbackLog.Outcome.ACCEPTED),
        updated=outcomes.count(PostbackLog.Outcome.UPDATED),
        unchanged=outcomes.count(PostbackLog.Outcome.DUPLICATE),
        rejected=[{"row": r.number, "reason": r.rejected} for r in rows if r.rejected],
    )


def _log_ids(count: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence('attribution_postbacklog', 'id'))"
            " FROM generate_series(1, %s)",
            [count],
        )
        return [pk for (pk,) in cursor.fetchall()]


_INSERTED = ("txn_id", "event", "revenue", "payout", "revenue_reported", "approval",
             "occurred_at", "attribution_type", "unattributed_reason", "reported_click_id",
             "reported_link_id", "contact_id", "offer_id", "postback_log_id")  # fmt: skip
_TYPES = ("text", "text", "numeric", "numeric", "boolean", "text", "timestamptz", "text", "text",
          "text", "bigint", "bigint", "bigint", "bigint")  # fmt: skip


def _conversions_insert(account: Account, rows: list[Row], now: dt.datetime) -> list[Row]:
    """Insert the new rows' conversions in one statement; set each row's conversion_id.
    Returns the rows another writer's conversion beat (ON CONFLICT)."""
    if not rows:
        return []
    values = {
        "txn_id": [r.txn_id for r in rows],
        "event": [r.event for r in rows],
        "occurred_at": [r.occurred_at for r in rows],
        "reported_click_id": [r.click_id for r in rows],
        **{name: [r.new[name] for r in rows] for name in _INSERTED if name in rows[0].new},
    }
    arrays = ", ".join(
        f"%({name})s::{kind}[]" for name, kind in zip(_INSERTED, _TYPES, strict=True)
    )
    columns = ", ".join(_INSERTED)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO attribution_conversion
                (account_id, currency, received_at, status, {columns})
            SELECT %(account)s, %(currency)s, %(now)s, %(accepted)s, {columns}
            FROM unnest({arrays}) AS u({columns})
            ON CONFLICT (account_id, txn_id, event) WHERE txn_id IS NOT NULL DO NOTHING
            RETURNING id, txn_id, event
            """,  # noqa: S608 - constant column names
            {
                **values,
                "account": account.pk,
                "currency": account.currency,
                "now": now,
                "accepted": Conversion.Status.ACCEPTED.value,
            },
        )
        inserted = {(txn_id, event): pk for pk, txn_id, event in cursor.fetchall()}
    raced = []
    for row in rows:
        row.conversion_id = inserted.get(row.key)
        if row.conversion_id is None:
            raced.append(row)
            row.new = {"postback_log_id": row.new["postback_log_id"]}
    return raced


def _conversions_credit(conversion_ids: list[int]) -> None:
    """The attribution rule for every new contact-level conversion, in one statement, then
    the click-injection check (fraud) for those credited seconds after their click."""
    if not conversion_ids:
        return
    with connection.cursor() as cursor:
        conversions_attribute_listed(cursor, conversion_ids=conversion_ids)
        cursor.execute(
            """
            SELECT cv.id FROM attribution_conversion cv
            JOIN links_messageclick mc ON mc.id = cv.message_click_id
            WHERE cv.id = ANY(%s)
              AND cv.occurred_at - mc.clicked_at < make_interval(secs => %s)
            """,
            [conversion_ids, settings.FRAUD_CLICK_INJECTION_SECONDS],
        )
        suspicious = [pk for (pk,) in cursor.fetchall()]
    for conversion in Conversion.objects.filter(pk__in=suspicious).select_related("message_click"):
        conversion_injection_check(conversion)


def _logs_insert(
    account: Account,
    rows: list[Row],
    log_ids: list[int],
    conversion_import_id: int | None,
    now: dt.datetime,
) -> None:
    """One PostbackLog row a file row, in one statement: the row as its query, the outcome,
    the import and row number (and a rejection's reason) as its reason."""
    if not rows:
        return
    cap = bounds.MAX_TRACKING_REQUEST_BYTES

    def reason(row: Row) -> str:
        where = f"import {conversion_import_id}, row {row.number}"
        return f"{where}: {row.rejected}" if row.rejected else where

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO attribution_postbacklog
                (id, account_id, endpoint, method, host, query, body, user_agent, received_at,
                 outcome, reason)
            SELECT u.id, %(account)s, %(endpoint)s, 'POST', '', u.query, '', '', %(now)s,
                   u.outcome, u.reason
            FROM unnest(%(ids)s::bigint[], %(queries)s::text[], %(outcomes)s::text[],
                        %(reasons)s::text[]) AS u(id, query, outcome, reason)
            """,
            {
                "account": account.pk,
                "endpoint": ENDPOINT,
                "now": now,
                "ids": log_ids,
                "queries": [
                    urlencode([(k, v) for k, v in r.cells.items() if v])[:cap] for r in rows
                ],
                "outcomes": [r.outcome for r in rows],
                "reasons": [reason(r) for r in rows],
            },
        )


# The import as a job -------------------------------------------------------------------


def conversion_import_create(
    *, account: Account, body: bytes, dry_run: bool, actor: str = "", filename: str = ""
) -> ConversionImport:
    """Check the file (ImportInvalid) and keep it, queued; the caller queues its run
    (attribution.tasks.conversion_import_queue)."""
    text = text_of(body)
    _, rows = file_check(text)
    return ConversionImport.objects.create(
        account=account, dry_run=dry_run, actor=actor[:200], filename=filename[:200],
        body=text, rows=rows,
    )  # fmt: skip


def conversion_import_commit(dry_run: ConversionImport, *, actor: str = "") -> ConversionImport:
    """The real import of a finished dry run's file (the dashboard's "commit"); the dry run
    lets go of its copy."""
    if not dry_run.dry_run or dry_run.status != ConversionImport.Status.DONE or not dry_run.body:
        raise ImportInvalid(
            "import", "only a finished dry run, not yet committed, can be committed"
        )
    with transaction.atomic():
        # Race: "commit" pressed twice. The conditional UPDATE lets one press take the body.
        taken = ConversionImport.objects.filter(pk=dry_run.pk).exclude(body="").update(body="")
        if not taken:
            raise ImportInvalid("import", "this dry run was committed already")
        return ConversionImport.objects.create(
            account_id=dry_run.account_id, dry_run=False, actor=actor[:200],
            filename=dry_run.filename, body=dry_run.body, rows=dry_run.rows,
        )  # fmt: skip


def conversion_import_run(conversion_import_id: int) -> bool:
    """Run a queued import; False when it was not queued (another worker has it)."""
    # Race: the task delivered twice (acks_late, a worker lost). The conditional UPDATE lets
    # one run claim it.
    claimed = ConversionImport.objects.filter(
        pk=conversion_import_id, status=ConversionImport.Status.QUEUED
    ).update(status=ConversionImport.Status.RUNNING, started_at=timezone.now())
    if not claimed:
        return False
    job = ConversionImport.objects.select_related("account").get(pk=conversion_import_id)
    try:
        with transaction.atomic():
            result = import_apply(
                job.account, job.body, dry_run=job.dry_run, conversion_import_id=job.pk,
                actor=job.actor,
            )  # fmt: skip
            ConversionImport.objects.filter(pk=job.pk).update(
                status=ConversionImport.Status.DONE, rows=result.rows, created=result.created,
                updated=result.updated, unchanged=result.unchanged, rejected=result.rejected,
                # A dry run keeps its file until it is committed (or not).
                body=job.body if job.dry_run else "", finished_at=timezone.now(),
            )  # fmt: skip
    except Exception as exc:
        logger.exception("conversion import %s failed", job.pk)
        ConversionImport.objects.filter(pk=job.pk).update(
            status=ConversionImport.Status.FAILED,
            error=f"the import failed ({type(exc).__name__}); nothing was written",
            finished_at=timezone.now(),
        )
    return True
