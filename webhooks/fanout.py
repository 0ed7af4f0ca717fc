"""The fan-out: one delivery per (event, endpoint) for the endpoints that get each event,
read from the event log by cursor ("webhooks")."""

from __future__ import annotations

from collections import defaultdict

from ulid import ULID

from core.events import events_batch, events_sequence
from core.models import Event, WebhookEndpoint
from webhooks.models import WebhookDelivery

CONSUMER = "webhooks"
FANOUT_BATCH = 1000


def new_msg_id() -> str:
    """A webhook-id: msg_ + a ULID (sortable by creation time)."""
    return f"msg_{ULID()}"


def events_fan_out(*, limit: int = FANOUT_BATCH) -> int:
    """Deliveries for the next batch of events past the cursor; returns how many events
    the batch had (0 when the log is read to its end).

    An event naming an endpoint (webhook.test, automation.fired) goes to that endpoint
    only, whatever it subscribed to, and even while it is disabled (it stays pending until
    the endpoint is enabled again). Any other event goes to each enabled endpoint of its
    account subscribed to its type; an endpoint disabled when the event is read does not
    get it (a replay can send it later)."""
    events_sequence()
    with events_batch(CONSUMER, limit=limit) as events:
        if not events:
            return 0
        subscribed = _subscribed({event.account_id for event in events})
        targeted = _targeted(events)
        rows = []
        for event in events:
            if event.endpoint_id is not None:
                endpoint_ids = [event.endpoint_id] if event.endpoint_id in targeted else []
            else:
                endpoint_ids = subscribed.get((event.account_id, event.type), [])
            rows.extend(
                # In its event's month, with its event's time (WebhookDelivery.created_at).
                WebhookDelivery(
                    event=event,
                    endpoint_id=endpoint_id,
                    msg_id=new_msg_id(),
                    created_at=event.created_at,
                )
                for endpoint_id in endpoint_ids
            )
        # Race: a replay (webhooks.services) creating the delivery of a pair this batch
        # covers too: ON CONFLICT DO NOTHING on (event, endpoint) keeps the first, and
        # its webhook-id.
        WebhookDelivery.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        return len(events)


def _subscribed(account_ids: set[int]) -> dict[tuple[int, str], list[int]]:
    """(account, event type) -> the enabled endpoints subscribed to it."""
    found: dict[tuple[int, str], list[int]] = defaultdict(list)
    endpoints = WebhookEndpoint.objects.filter(account_id__in=account_ids, is_enabled=True)
    for endpoint_id, account_id, types in endpoints.values_list("id", "account_id", "events"):
        for event_type in types or []:
            found[(account_id, event_type)].append(endpoint_id)
    return found


def _targeted(events: list[Event]) -> set[int]:
    """The endpoints named by events, that still exist in the event's account."""
    pairs = {(e.endpoint_id, e.account_id) for e in events if e.endpoint_id is not None}
    if not pairs:
        return set()
    rows = WebhookEndpoint.objects.filter(pk__in={pk for pk, _ in pairs})
    found = rows.values_list("id", "account_id")
    return {pk for pk, account_id in found if (pk, account_id) in pairs}
