"""The automations' consumer of the event log: each trigger event schedules a run of every
enabled automation of its account that it matches, due after the automation's delay.

A conversion trigger fires once, when its conversion is approved: on the conversion.recorded
of an approved one, or on the conversion.updated that approves it (previous approval not
approved, now approved), read here as that conversion's conversion.recorded (the same
AutomationRun key, so never twice)."""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Q

from attribution.models import Conversion
from automations.models import Automation, AutomationRun
from automations.rules import (
    CONVERSION_RECORDED,
    TRIGGER_EVENTS,
    ref_id,
    trigger_key,
    trigger_matches,
)
from core.events import events_batch, events_sequence
from core.models import Contact, Event
from links.bots import INTERNAL_REASON
from links.models import MessageShortLinkClick
from links.selectors import clicks_by_ids

logger = logging.getLogger(__name__)

CONSUMER = "automations"
BATCH = 1000
CONVERSION_UPDATED = "conversion.updated"
# What the consumer reads: the triggers' events, and the updates that approve a conversion.
READ_EVENTS = (*TRIGGER_EVENTS, CONVERSION_UPDATED)


def automations_consume(*, limit: int = BATCH) -> int:
    """Read the next batch of trigger events and schedule their runs; returns how many runs
    matched (some may have been scheduled before: those are left, or scheduled again if
    they were skipped). Exactly once: the runs and the cursor's move commit
    together (core.events.events_batch)."""
    events_sequence()
    with events_batch(CONSUMER, types=READ_EVENTS, limit=limit) as events:
        runs = _runs_for(events)
        if not runs:
            return 0
        # Race: the same key from two events of one batch, or an event read again after
        # a crash: one row (unique (automation, trigger_key)).
        AutomationRun.objects.bulk_create(runs, ignore_conflicts=True, batch_size=1000)
        _skipped_rearm(runs)
        return len(runs)


def trigger_type(event: Event) -> str | None:
    """The trigger event an event is read as: its own type, conversion.recorded for the
    conversion.updated that approved its conversion, None for any other update."""
    if event.type != CONVERSION_UPDATED:
        return event.type
    conversion = event.data.get("conversion") or {}
    previous = event.data.get("previous") or {}
    status = conversion.get("status")
    became_approved = Conversion.approved_values(
        status, conversion.get("approval")
    ) and not Conversion.approved_values(status, previous.get("approval"))
    return CONVERSION_RECORDED if became_approved else None


def _runs_for(events: list[Event]) -> list[AutomationRun]:
    read_as = {event.pk: trigger_type(event) for event in events}
    events = [event for event in events if read_as[event.pk] is not None]
    if not events:
        return []
    # One query for the matching: every enabled automation of the batch's accounts.
    automations: dict[int, list[Automation]] = {}
    for automation in Automation.objects.filter(
        account_id__in={e.account_id for e in events},
        is_enabled=True,
        trigger__event__in=list(TRIGGER_EVENTS),
    ).order_by("id"):
        automations.setdefault(automation.account_id, []).append(automation)
    if not automations:
        return []
    candidates = [
        (event, automation)
        for event in events
        for automation in automations.get(event.account_id, ())
        if trigger_matches(automation.trigger, read_as[event.pk], event.data)
    ]
    if not candidates:
        return []
    contact_ids = {ref_id(e.data, "contact") for e, _ in candidates} - {None}
    testers = set(
        Contact.objects.filter(pk__in=contact_ids, is_test=True).values_list("pk", flat=True)
    )
    click_ids = {
        (e.data.get("click") or {}).get("id") for e, _ in candidates if e.type == "message.clicked"
    } - {None}
    # Internal (and bot) clicks never count, so never make a message.clicked; held here too.
    not_counted = set(
        clicks_by_ids(
            MessageShortLinkClick.objects.filter(
                Q(is_bot=True) | Q(bot_reason=INTERNAL_REASON)
            ).values_list("click_id", flat=True),
            click_ids,
            key=str,
        )
    )
    runs = []
    for event, automation in candidates:
        event_type = read_as[event.pk]
        key = trigger_key(event_type, event.data, event.sequence)
        contact_id = ref_id(event.data, "contact")
        if key is None or contact_id is None or contact_id in testers:
            continue
        if (event.data.get("click") or {}).get("id") in not_counted:
            continue
        runs.append(
            AutomationRun(
                automation=automation,
                contact_id=contact_id,
                message_id=ref_id(event.data, "message"),
                conversion_id=ref_id(event.data, "conversion")
                if event_type == CONVERSION_RECORDED
                else None,
                audience_id=ref_id(event.data, "audience"),
                trigger_key=key,
                trigger_event=event_type,
                trigger_sequence=event.sequence,
                due_at=event.occurred_at + dt.timedelta(seconds=automation.delay_seconds),
            )
        )
    return runs


def _skipped_rearm(runs: list[AutomationRun]) -> int:
    """A run skipped at its due time (its click turned out a bot, its conversion was not
    approved yet) is scheduled again by a later event with its key: once per key means
    fired once, not tried once. Rare, so one query to find them and one update each."""
    by_key = {(r.automation_id, r.trigger_key): r for r in runs}
    skipped = AutomationRun.objects.filter(
        status=AutomationRun.Status.SKIPPED,
        automation_id__in={a for a, _ in by_key},
        trigger_key__in={k for _, k in by_key},
        trigger_sequence__lt=max(r.trigger_sequence for r in runs),
    ).values_list("pk", "automation_id", "trigger_key", "trigger_sequence")
    rearmed = 0
    for pk, automation_id, key, sequence in skipped:
        run = by_key.get((automation_id, key))
        if run is None or run.trigger_sequence <= sequence:
            continue
        # Race: the runner skipping or firing this row meanwhile: the status condition is
        # checked again under the row's lock, so a fired run is never scheduled again.
        rearmed += AutomationRun.objects.filter(pk=pk, status=AutomationRun.Status.SKIPPED).update(
            status=AutomationRun.Status.SCHEDULED,
            skipped_reason="",
            due_at=run.due_at,
            trigger_sequence=run.trigger_sequence,
            message_id=run.message_id,
        )
    return rearmed
