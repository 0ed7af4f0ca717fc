"""The fan-out: one delivery per (event, endpoint) for the enabled endpoints of the event's
account subscribed to its type, or only the endpoint an event names."""

from __future__ import annotations

import re
from typing import Any

import pytest

from core.events import event_emit, events_sequence
from core.models import Event
from tests.webhooks.receiver import endpoint_make
from webhooks.fanout import events_fan_out
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db
URL = "https://hooks.example.com/trackly"


def emit(account: Any, type: str = "message.clicked", **fields: Any) -> None:
    event_emit(account_id=account.account.pk, type=type, data={"n": 1}, **fields)


def pairs() -> set[tuple[str, int]]:
    return set(WebhookDelivery.objects.values_list("event__type", "endpoint_id"))


def test_subscribed_enabled_endpoints_of_the_account_get_the_event(
    owner: Any, outsider: Any
) -> None:
    clicks, _ = endpoint_make(owner, URL, ["message.clicked"])
    both, _ = endpoint_make(owner, URL, ["message.clicked", "conversion.recorded"])
    endpoint_make(owner, URL, ["conversion.recorded"])
    endpoint_make(owner, URL, ["message.clicked"], is_enabled=False)
    endpoint_make(outsider, URL, ["message.clicked"])
    emit(owner)
    assert events_fan_out() == 1
    assert pairs() == {("message.clicked", clicks.pk), ("message.clicked", both.pk)}
    msg_ids = list(WebhookDelivery.objects.values_list("msg_id", flat=True))
    assert all(re.fullmatch(r"msg_[0-9A-HJKMNP-TV-Z]{26}", m) for m in msg_ids)
    assert events_fan_out() == 0  # the cursor moved: nothing twice
    assert WebhookDelivery.objects.count() == 2


def test_an_event_naming_an_endpoint_goes_to_it_only(owner: Any, outsider: Any) -> None:
    target, _ = endpoint_make(owner, URL, [])
    endpoint_make(owner, URL, ["message.clicked", "contact.audience_entered"])
    theirs, _ = endpoint_make(outsider, URL, [])
    emit(owner, "webhook.test", endpoint_id=target.pk)
    emit(owner, "automation.fired", endpoint_id=target.pk)
    emit(owner, "automation.fired", endpoint_id=theirs.pk)  # not the account's: nobody
    events_fan_out()
    assert pairs() == {("webhook.test", target.pk), ("automation.fired", target.pk)}


def test_the_fan_out_numbers_events_itself_and_reads_in_batches(owner: Any) -> None:
    endpoint, _ = endpoint_make(owner, URL)
    for _ in range(5):
        emit(owner)
    assert events_fan_out(limit=2) == 2
    assert events_fan_out(limit=2) == 2
    assert events_fan_out(limit=2) == 1
    assert WebhookDelivery.objects.count() == 5


def test_a_delivery_made_already_is_kept(owner: Any) -> None:
    # A replay may have made the (event, endpoint) delivery first: its webhook-id stays.
    endpoint, _ = endpoint_make(owner, URL)
    emit(owner)
    events_sequence()
    first = WebhookDelivery.objects.create(
        event=Event.objects.get(), endpoint=endpoint, msg_id="msg_FIRST"
    )
    events_fan_out()
    assert list(WebhookDelivery.objects.values_list("pk", "msg_id")) == [(first.pk, "msg_FIRST")]
