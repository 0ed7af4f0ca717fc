"""The events purge: EVENTS_KEEP_DAYS, or the account's retention if shorter, with the
events' deliveries and attempts; the newest numbered event always stays."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from core.events import event_emit, events_sequence
from core.models import Event
from tests.webhooks.receiver import endpoint_make
from webhooks.fanout import events_fan_out
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.retention import events_purge
from webhooks.tasks import events_purge_task

pytestmark = pytest.mark.django_db


def aged(account: Any, days: float, tag: str) -> None:
    event_emit(account_id=account.account.pk, type="message.clicked", data={"tag": tag})
    Event.objects.filter(data__tag=tag).update(created_at=timezone.now() - dt.timedelta(days=days))


def test_events_past_their_keeping_time_go_with_their_deliveries(
    make_account: Any, settings: Any
) -> None:
    settings.EVENTS_KEEP_DAYS = 30
    short = make_account(data_retention_days=7)
    long = make_account()  # 395 days: the 30 of EVENTS_KEEP_DAYS apply
    endpoint_make(short, "https://hooks.example.com/a")
    aged(short, 10, "short-10")
    aged(short, 3, "short-3")
    aged(long, 10, "long-10")
    aged(long, 40, "long-40")
    aged(long, 0, "newest")
    events_fan_out()
    delivery = WebhookDelivery.objects.get(event__data__tag="short-10")
    WebhookAttempt.objects.create(delivery=delivery, status_code=500)
    assert events_purge() == 2
    left = set(Event.objects.values_list("data__tag", flat=True))
    assert left == {"short-3", "long-10", "newest"}
    assert not WebhookDelivery.objects.filter(pk=delivery.pk).exists()
    assert not WebhookAttempt.objects.exists()
    assert events_purge_task.apply().result == 0


def test_the_newest_numbered_event_is_kept_however_old(owner: Any) -> None:
    aged(owner, 100, "old")
    aged(owner, 90, "last")
    events_sequence()
    assert events_purge() == 1
    (kept,) = Event.objects.all()
    assert kept.data["tag"] == "last"
    # The next event still numbers past it.
    aged(owner, 0, "new")
    events_sequence()
    assert Event.objects.get(data__tag="new").sequence == kept.sequence + 1


def test_events_not_numbered_yet_are_not_purged(owner: Any) -> None:
    aged(owner, 100, "unnumbered")
    assert events_purge(now=timezone.now()) == 0
    assert Event.objects.count() == 1
