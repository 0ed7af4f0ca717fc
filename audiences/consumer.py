"""Keeping membership current: the event-log consumer (clicks, verdicts, conversions
re-evaluate the contacts they name, within seconds) and the aging sweep (audiences whose
membership moves with time or with new sends, which no event tells of: every minute).

Labels re-evaluate in their own transaction (audiences.labels); a new or changed rule is
evaluated in full (audiences.services).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.utils import timezone

from audiences.membership import Changes, audience_evaluate, contact_audiences_evaluate
from audiences.models import Audience
from audiences.rules import rule_stored
from core.events import events_batch, events_sequence
from core.models import EventCursor

CONSUMER = "audiences"
# The events whose facts a rule reads: counted clicks (and their revocation) and conversions
# (recorded, re-credited, or updated: an approval change changes `converted`).
FACT_EVENTS = (
    "message.clicked",
    "message.click_revoked",
    "conversion.recorded",
    "conversion.reattributed",
    "conversion.updated",
)
BATCH_EVENTS = 5000
# A run of the consumer stops after this many batches (the next run, a second later, goes on).
MAX_BATCHES = 20


def audiences_consume(*, now: dt.datetime | None = None, limit: int = BATCH_EVENTS) -> int:
    """Number the log, then re-evaluate, batch by batch, every audience of each event's
    account for the contacts the batch names: one pass per audience per batch, however
    many contacts. Returns how many events it read."""
    read, cursor = 0, None
    for _ in range(MAX_BATCHES):
        events_sequence()  # numbers at most a batch of its own each call
        # The effects and the cursor's move commit together: each event once.
        with events_batch(CONSUMER, types=FACT_EVENTS, limit=limit) as events:
            contacts: dict[int, set[int]] = defaultdict(set)
            for event in events:
                contact = event.data.get("contact") or {}
                if contact.get("id"):
                    contacts[event.account_id].add(contact["id"])
            for account_id, ids in contacts.items():
                contact_audiences_evaluate(account_id=account_id, contact_ids=ids, now=now)
        read += len(events)
        position = EventCursor.objects.filter(name=CONSUMER).values_list("sequence", flat=True)
        if position.first() == cursor:  # nothing left past the cursor
            break
        cursor = position.first()
    return read


def audiences_sweep(*, now: dt.datetime | None = None) -> Changes:
    """Re-evaluate in full every audience whose rule has `within_days`, `received` or
    `not_clicked`: `within_days` ages out, new sends come in. Each audience in its own
    transaction."""
    now = now or timezone.now()
    changes = Changes()
    for audience in Audience.objects.order_by("id").iterator():
        if rule_stored(audience.rule).is_timed:
            changes += audience_evaluate(audience, now=now)
    return changes
