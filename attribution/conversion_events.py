"""Conversion events: `conversion.recorded` once per conversion, once it is settled (not
pending), and `conversion.reattributed` when an announced conversion's credited click moves
(`conversion.updated`, for a change of approval or amounts: attribution.adjustments).

A conversion is announced by a sweep (conversions_announce, a beat task every second), not
in the postback request: the fast path's statements stay as they are, and a pending
conversion is announced once its click is found, with the credit it settled on. An
unannounced conversion whose credit moves is announced later with its final credit, so
only announced ones get `conversion.reattributed`.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from attribution.models import Conversion
from core.events import NewEvent, contact_data, event_timestamp, events_emit
from links.event_data import click_ref, counted_click_ref, message_data, named
from links.models import MessageShortLinkClick

ANNOUNCE_BATCH = 500
# The credited click is read from the counted click (message_click), which keeps the raw
# click's id and time: retention may have pruned the raw click.
RELATED = ("contact", "message", "offer", "campaign", "creative", "message_click")


def credited_click_ref(conversion: Conversion) -> dict[str, Any] | None:
    """The conversion's credited click as events and the API name it, or None (view-through,
    unattributed). Re-attribution keeps raw_click and message_click one credit."""
    if conversion.raw_click_id is None:
        return None
    return counted_click_ref(conversion.message_click)


def conversion_data(conversion: Conversion) -> dict[str, Any]:
    """conversion.recorded's payload (the relations loaded: RELATED)."""
    return {
        "conversion": {
            "id": conversion.pk,
            "txn_id": conversion.txn_id,
            "event": conversion.event,
            "status": conversion.status,
            "approval": conversion.approval,
            "revenue": str(conversion.revenue),
            "payout": str(conversion.payout),
            "currency": conversion.currency,
            "occurred_at": event_timestamp(conversion.occurred_at),
            "attribution_type": conversion.attribution_type,
            "unattributed_reason": conversion.unattributed_reason,
        },
        "contact": contact_data(conversion.contact) if conversion.contact else None,
        "message": message_data(conversion.message),
        "offer": named(conversion.offer),
        "campaign": named(conversion.campaign),
        "creative": named(conversion.creative),
        "click": credited_click_ref(conversion),
    }


def conversions_announce(*, limit: int = ANNOUNCE_BATCH) -> int:
    """Write conversion.recorded for conversions not announced yet and no longer pending,
    marking them announced in the same transaction. Returns how many."""
    with transaction.atomic():
        # Race: two announcers at once. SKIP LOCKED hands each its own conversions, and a
        # conversion being re-attributed (locked) waits for the next sweep.
        batch = list(
            Conversion.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(announced_at__isnull=True)
            .exclude(status=Conversion.Status.PENDING)
            .select_related(*RELATED)
            .order_by("received_at")[:limit]
        )
        if not batch:
            return 0
        events_emit(
            NewEvent(
                account_id=c.account_id,
                type="conversion.recorded",
                data=conversion_data(c),
                occurred_at=c.occurred_at,
            )
            for c in batch
        )
        Conversion.objects.filter(pk__in=[c.pk for c in batch]).update(announced_at=timezone.now())
    return len(batch)


def conversion_reattributed(
    conversion: Conversion, previous_click: MessageShortLinkClick | None
) -> None:
    """conversion.reattributed for an announced conversion whose credited click changed
    (written in the caller's transaction, which saves the new credit)."""
    if conversion.announced_at is None:
        return
    events_emit(
        [
            NewEvent(
                account_id=conversion.account_id,
                type="conversion.reattributed",
                data={**conversion_data(conversion), "previous_click": click_ref(previous_click)},
            )
        ]
    )
