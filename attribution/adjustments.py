"""Changing a stored conversion's approval or amounts, the one way it is done: a postback
naming a stored (txn_id, event), a person's PATCH, an import, a restated reconciliation.

Every change is checked (amounts are new totals, never negative, within the offer's
revenue cap; the approval one of Conversion.Approval), saved, kept as a
ConversionAdjustment and, for a conversion already announced, told as
`conversion.updated` in the same transaction (an unannounced one is announced later with
its final figures). A change that changes nothing writes nothing and returns None. The
rollups follow through the conversion table's triggers (reporting migration 0008).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from attribution.conversion_events import RELATED, conversion_data
from attribution.models import Conversion, ConversionAdjustment
from core.events import NewEvent, events_emit

ADJUST_BATCH = 2000


@dataclass(frozen=True)
class Change:
    """What a conversion is to become; None leaves that figure as it is."""

    approval: str | None = None
    revenue: Decimal | None = None
    payout: Decimal | None = None


class AdjustmentInvalid(ValueError):
    """A change that may not be made, naming the field (the API answers 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Origin:
    """Where a batch of changes came from, as each adjustment records it."""

    source: str  # ConversionAdjustment.Source
    reason: str = ""
    actor: str = ""
    postback_log_id: int | None = None
    conversion_import_id: int | None = None
    reconciliation_id: int | None = None


def change_check(conversion: Conversion, change: Change) -> None:
    """Raise AdjustmentInvalid when `change` may not be made to `conversion` (its offer
    loaded or loadable)."""
    if change.approval is not None and change.approval not in Conversion.Approval.values:
        raise AdjustmentInvalid(
            "approval", f"Must be one of {', '.join(Conversion.Approval.values)}."
        )
    offer = conversion.offer
    for field in ("revenue", "payout"):
        amount = getattr(change, field)
        if amount is None:
            continue
        if amount < 0:
            raise AdjustmentInvalid(field, "Must not be negative: amounts are new totals.")
        if offer is not None and not offer.revenue_within_cap(amount):
            raise AdjustmentInvalid(field, "is above this offer's revenue cap")


def changed(conversion: Conversion, change: Change) -> bool:
    """Whether `change` would change anything."""
    return any(
        value is not None and value != getattr(conversion, field)
        for field, value in (
            ("approval", change.approval),
            ("revenue", change.revenue),
            ("payout", change.payout),
        )
    )


def conversion_adjust(
    conversion_id: int, change: Change, origin: Origin, *, now: dt.datetime | None = None
) -> ConversionAdjustment | None:
    """Apply one change (checked; AdjustmentInvalid if it may not be made). Returns the
    adjustment, or None when nothing changed."""
    adjustments = conversions_adjust([(conversion_id, change)], origin, now=now, strict=True)
    return adjustments[0] if adjustments else None


def conversions_adjust(
    changes: Sequence[tuple[int, Change]],
    origin: Origin,
    *,
    now: dt.datetime | None = None,
    strict: bool = False,
) -> list[ConversionAdjustment]:
    """Apply many changes, set-based: a batch of ADJUST_BATCH conversions locked in one
    query, updated in one statement, their adjustments and events inserted in bulk.
    Changes that change nothing are skipped; one that may not be made raises
    AdjustmentInvalid when `strict`, else is skipped (callers check first: the import and
    the restate report such rows themselves). Returns the adjustments made."""
    now = now or timezone.now()
    made: list[ConversionAdjustment] = []
    for start in range(0, len(changes), ADJUST_BATCH):
        batch = dict(changes[start : start + ADJUST_BATCH])
        with transaction.atomic():
            made.extend(_batch_adjust(batch, origin, now, strict))
    return made


def _batch_adjust(
    batch: dict[int, Change], origin: Origin, now: dt.datetime, strict: bool
) -> list[ConversionAdjustment]:
    # Race: two changes of one conversion at once (a network's status postback and a
    # person's PATCH, an import and a restate). The row locks serialise them, each
    # comparing with what the other left; taken in id order, so two batches never deadlock.
    rows = list(
        Conversion.objects.select_for_update(of=("self",))
        .filter(pk__in=list(batch))
        .select_related(*RELATED)
        .order_by("pk")
    )
    adjustments: list[ConversionAdjustment] = []
    updated: list[Conversion] = []
    events: list[NewEvent] = []
    for conversion in rows:
        change = batch[conversion.pk]
        try:
            change_check(conversion, change)
        except AdjustmentInvalid:
            if strict:
                raise
            continue
        if not changed(conversion, change):
            continue
        before = _figures(conversion)
        for field in ("approval", "revenue", "payout"):
            value = getattr(change, field)
            if value is not None:
                setattr(conversion, field, value)
        adjustment = ConversionAdjustment(
            conversion=conversion,
            account_id=conversion.account_id,
            source=origin.source,
            reason=origin.reason,
            actor=origin.actor,
            approval_before=before["approval"],
            approval_after=conversion.approval,
            revenue_before=before["revenue"],
            revenue_after=conversion.revenue,
            payout_before=before["payout"],
            payout_after=conversion.payout,
            postback_log_id=origin.postback_log_id,
            conversion_import_id=origin.conversion_import_id,
            reconciliation_id=origin.reconciliation_id,
            created_at=now,
        )
        adjustments.append(adjustment)
        updated.append(conversion)
    if not updated:
        return []
    _figures_save(updated)
    ConversionAdjustment.objects.bulk_create(adjustments)
    for conversion, adjustment in zip(updated, adjustments, strict=True):
        if conversion.announced_at is not None:
            events.append(conversion_updated(conversion, adjustment))
    events_emit(events)
    return adjustments


def _figures_save(conversions: list[Conversion]) -> None:
    """The new figures of a batch, in one statement. On PostgreSQL an UPDATE from arrays:
    bulk_update's CASE over a batch's ids costs a comparison per id per row (20,000 rows of
    an import took 20 s; this, under 1 s)."""
    if connection.vendor != "postgresql":
        Conversion.objects.bulk_update(conversions, ["approval", "revenue", "payout"])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE attribution_conversion cv
            SET approval = u.approval, revenue = u.revenue, payout = u.payout
            FROM unnest(%s::bigint[], %s::text[], %s::numeric[], %s::numeric[])
                 AS u(id, approval, revenue, payout)
            WHERE cv.id = u.id
            """,
            [
                [c.pk for c in conversions],
                [c.approval for c in conversions],
                [c.revenue for c in conversions],
                [c.payout for c in conversions],
            ],
        )


def _figures(conversion: Conversion) -> dict[str, Any]:
    return {
        "approval": conversion.approval,
        "revenue": conversion.revenue,
        "payout": conversion.payout,
    }


def conversion_updated(conversion: Conversion, adjustment: ConversionAdjustment) -> NewEvent:
    """conversion.updated: the conversion as it is now, what it was, and the adjustment."""
    return NewEvent(
        account_id=conversion.account_id,
        type="conversion.updated",
        data={
            **conversion_data(conversion),
            "previous": {
                "approval": adjustment.approval_before,
                "revenue": str(adjustment.revenue_before),
                "payout": str(adjustment.payout_before),
            },
            "adjustment": adjustment_data(adjustment),
        },
        occurred_at=adjustment.created_at,
    )


def adjustment_data(adjustment: ConversionAdjustment) -> dict[str, Any]:
    """An adjustment as the API and events show it."""
    return {
        "id": adjustment.pk,
        "source": adjustment.source,
        "reason": adjustment.reason,
        "actor": adjustment.actor,
        "approval": {"before": adjustment.approval_before, "after": adjustment.approval_after},
        "revenue": {
            "before": str(adjustment.revenue_before),
            "after": str(adjustment.revenue_after),
            "change": str(adjustment.revenue_change),
        },
        "payout": {
            "before": str(adjustment.payout_before),
            "after": str(adjustment.payout_after),
            "change": str(adjustment.payout_change),
        },
        "created_at": adjustment.created_at.isoformat().replace("+00:00", "Z"),
    }


def adjustments_of(conversion_ids: Iterable[int]) -> dict[int, list[ConversionAdjustment]]:
    """Each conversion's adjustments, oldest first."""
    found: dict[int, list[ConversionAdjustment]] = {}
    for adjustment in ConversionAdjustment.objects.filter(
        conversion_id__in=list(conversion_ids)
    ).order_by("created_at", "pk"):
        found.setdefault(adjustment.conversion_id, []).append(adjustment)
    return found
