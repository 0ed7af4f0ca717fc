"""Helpers of the webhooks API and page tests: an endpoint made through the service, a
numbered event, and a delivery with its attempts as the sender would have left them (the
sender itself is tested in its own files)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from core.events import event_emit, events_sequence
from core.models import Event, WebhookEndpoint
from webhooks.fanout import new_msg_id
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import webhook_create

URL = "https://hooks.example.com/trackly"


def endpoint_make(account: Any, **fields: Any) -> tuple[WebhookEndpoint, str]:
    """An endpoint of the account (an AccountFixture) and its secret."""
    fields = {"url": URL, "events": ["message.clicked"]} | fields
    return webhook_create(account=account.account, **fields)


def event_make(account: Any, type: str = "message.clicked", **fields: Any) -> Event:
    """A numbered event of the account."""
    event_emit(account_id=account.account.pk, type=type, data={"n": 1}, **fields)
    events_sequence()
    return Event.objects.filter(account=account.account).latest("id")


def delivery_make(
    endpoint: WebhookEndpoint,
    event: Event,
    *,
    status: str = WebhookDelivery.Status.DELIVERED,
    codes: tuple[int | None, ...] = (200,),
    at: dt.datetime | None = None,
) -> WebhookDelivery:
    """A delivery of the event to the endpoint, tried once per status code given (None: no
    answer), ending in `status`."""
    at = at or timezone.now()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event=event,
        msg_id=new_msg_id(),
        status=status,
        attempts=len(codes),
        last_status_code=codes[-1] if codes else None,
        last_error="" if codes and codes[-1] == 200 else "refused",
        next_attempt_at=None if status != WebhookDelivery.Status.PENDING else at,
        delivered_at=at if status == WebhookDelivery.Status.DELIVERED else None,
        created_at=at,
    )
    for i, code in enumerate(codes):
        WebhookAttempt.objects.create(
            delivery=delivery,
            attempted_at=at + dt.timedelta(seconds=i),
            status_code=code,
            latency_ms=12 + i,
            error=""
            if code and 200 <= code < 300
            else "connection refused"
            if code is None
            else f"HTTP {code}",
        )
    return delivery
