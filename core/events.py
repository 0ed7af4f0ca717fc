"""The event log's rules: which events exist, how one is written (in the transaction of the
change it tells of), how events are numbered (after commit, in commit order) and how a
consumer reads them (a cursor, advanced in the consumer's own transaction).

Writers: links.click_events (message.clicked, message.click_revoked, click.recorded),
attribution (conversion.*), audiences (contact.audience_*), automations (automation.fired),
webhooks (webhook.test). Readers: the webhooks fan-out, the audiences and automations
consumers, and GET /api/v1/events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from core.models.events import Event, EventCursor

EVENT_TYPES = (
    "message.clicked",
    "message.click_revoked",
    "click.recorded",
    "conversion.recorded",
    "conversion.reattributed",
    "conversion.updated",
    "contact.audience_entered",
    "contact.audience_left",
    "contact.erased",
    "automation.fired",
    "webhook.test",
)
# Types an endpoint may subscribe to (webhook.test and automation.fired are sent to one
# endpoint whatever it subscribed to).
SUBSCRIBABLE = tuple(t for t in EVENT_TYPES if t not in ("webhook.test", "automation.fired"))
# Opt-in, high volume: every raw click.
HIGH_VOLUME = ("click.recorded",)

SEQUENCE_BATCH = 5000
# pg_advisory_xact_lock key of the sequencer (any constant; "TRKSEQ" in ASCII).
_SEQUENCER_LOCK = 0x54524B534551


@dataclass(frozen=True)
class NewEvent:
    account_id: int
    type: str
    data: dict[str, Any]
    occurred_at: dt.datetime = field(default_factory=timezone.now)
    endpoint_id: int | None = None


def events_emit(events: Iterable[NewEvent]) -> int:
    """Write events in the caller's transaction (they exist exactly when its change
    commits). Returns how many."""
    rows = []
    for event in events:
        if event.type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {event.type!r}")
        rows.append(
            Event(
                account_id=event.account_id,
                type=event.type,
                data=event.data,
                occurred_at=event.occurred_at,
                endpoint_id=event.endpoint_id,
            )
        )
    Event.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def event_emit(
    *,
    account_id: int,
    type: str,
    data: dict[str, Any],
    occurred_at: dt.datetime | None = None,
    endpoint_id: int | None = None,
) -> None:
    events_emit(
        [
            NewEvent(
                account_id=account_id,
                type=type,
                data=data,
                occurred_at=occurred_at or timezone.now(),
                endpoint_id=endpoint_id,
            )
        ]
    )


def events_sequence(*, limit: int = SEQUENCE_BATCH) -> int:
    """Number the committed events that have no sequence yet, continuing from the highest.
    Returns how many it numbered.

    Race: two sequencers at once. If both numbered, the one that commits second could hand
    out lower numbers than a reader has already passed; the advisory lock runs them one at
    a time, so numbers become visible in order (SQLite serialises writers itself)."""
    table = connection.ops.quote_name(Event._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_SEQUENCER_LOCK])
        cursor.execute(
            f"UPDATE {table} SET sequence = numbered.base + numbered.n"  # noqa: S608 - model table
            f" FROM (SELECT e.id, ROW_NUMBER() OVER (ORDER BY e.id) AS n,"
            f" (SELECT COALESCE(MAX(sequence), 0) FROM {table}) AS base"
            f" FROM {table} e WHERE e.sequence IS NULL ORDER BY e.id LIMIT %s) AS numbered"
            f" WHERE {table}.id = numbered.id",
            [limit],
        )
        return cursor.rowcount


@contextmanager
def events_batch(
    consumer: str, *, types: Iterable[str] | None = None, limit: int = 1000
) -> Iterator[list[Event]]:
    """The next events past `consumer`'s cursor (of `types`, if given), in sequence order,
    inside a transaction that moves the cursor past them when the block ends without an
    exception: what the block writes and the cursor's move commit together, so each event
    is consumed exactly once.

    Race: two workers of one consumer. The cursor row's lock makes the second wait and
    then read past the first's batch."""
    with transaction.atomic():
        EventCursor.objects.get_or_create(name=consumer)
        cursor = EventCursor.objects.select_for_update().get(name=consumer)
        # The cursor moves past every numbered event up to the batch's last, of any type.
        numbered = Event.objects.filter(sequence__gt=cursor.sequence).order_by("sequence")
        last = numbered.values_list("sequence", flat=True)[limit - 1 : limit].first()
        if last is None:
            last = numbered.values_list("sequence", flat=True).last()
        if last is None:
            yield []
            return
        batch = numbered.filter(sequence__lte=last)
        if types is not None:
            batch = batch.filter(type__in=list(types))
        yield list(batch)
        cursor.sequence = last
        cursor.save(update_fields=["sequence", "updated_at"])


def event_timestamp(moment: dt.datetime) -> str:
    """ISO 8601 in UTC with milliseconds and a Z, as in every event body."""
    utc = moment.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def event_body(event: Event) -> dict[str, Any]:
    """What a receiver gets (webhook body, GET /api/v1/events): type, timestamp, data with
    the account's sequence number."""
    return {
        "type": event.type,
        "timestamp": event_timestamp(event.occurred_at),
        "data": {**event.data, "sequence": event.sequence},
    }


def contact_data(contact: Any) -> dict[str, Any]:
    """A contact as every event names it."""
    return {
        "id": contact.pk,
        "external_id": contact.external_id,
        "phone": contact.phone,
        "email": contact.email,
    }
