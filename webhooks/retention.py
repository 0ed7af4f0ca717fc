"""How long events are kept: EVENTS_KEEP_DAYS, or the account's data_retention_days if
shorter; a purged event takes its deliveries and their attempts with it."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from core.models import Account, Event
from webhooks.models import WebhookAttempt, WebhookDelivery

PURGE_BATCH = 5000


def events_expired(now: dt.datetime) -> Q:
    """The events past their keeping time at `now`."""
    keep = settings.EVENTS_KEEP_DAYS
    expired = Q(created_at__lt=now - dt.timedelta(days=keep))
    shorter = Account.objects.filter(data_retention_days__lt=keep)
    for account_id, days in shorter.values_list("id", "data_retention_days"):
        expired |= Q(account_id=account_id, created_at__lt=now - dt.timedelta(days=days))
    return expired


def events_purge(
    *,
    now: dt.datetime | None = None,
    batch: int = PURGE_BATCH,
    counts: dict[str, int] | None = None,
) -> int:
    """Delete expired events with their deliveries, in batches. Returns how many events;
    `counts`, if given, gains the rows deleted per table (events, deliveries, attempts).
    The one home of the events' retention: the hourly purge and apply_retention
    (reporting.retention) both run it.

    The newest numbered event is always kept, however old: the sequencer continues from
    the highest number in the log, and an empty log would start again below the cursors
    of the consumers. Events not numbered yet are never purged."""
    now = now or timezone.now()
    expired = events_expired(now)
    total = 0
    while True:
        highest = Event.objects.aggregate(highest=Max("sequence"))["highest"]
        if highest is None:
            return total
        ids = list(
            Event.objects.filter(expired, sequence__lt=highest)
            .order_by("id")
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            return total
        with transaction.atomic():
            attempts, _ = WebhookAttempt.objects.filter(delivery__event_id__in=ids).delete()
            deliveries, _ = WebhookDelivery.objects.filter(event_id__in=ids).delete()
            Event.objects.filter(pk__in=ids).delete()
        total += len(ids)
        if counts is not None:
            for model, n in (
                (Event, len(ids)),
                (WebhookDelivery, deliveries),
                (WebhookAttempt, attempts),
            ):
                table = model._meta.db_table
                counts[table] = counts.get(table, 0) + n
        if len(ids) < batch:
            return total
