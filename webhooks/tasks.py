"""Thin Celery tasks of the event log and webhooks: number events, fan them out, deliver
what is due, purge what is past its keeping time."""

from __future__ import annotations

import time

from celery import shared_task

from core.events import events_sequence
from webhooks import delivery, fanout, retention

# A run of the fan-out or deliver task works while there is work, for about this long.
RUN_SECONDS = 20.0


@shared_task(ignore_result=True)
def events_sequence_task() -> int:
    return events_sequence()


@shared_task(ignore_result=True)
def webhooks_fan_out_task() -> int:
    deadline = time.monotonic() + RUN_SECONDS
    read = total = fanout.events_fan_out()
    while read == fanout.FANOUT_BATCH and time.monotonic() < deadline:
        read = fanout.events_fan_out()
        total += read
    return total


@shared_task(ignore_result=True)
def webhooks_deliver_task() -> int:
    return delivery.deliveries_send_for(RUN_SECONDS)


@shared_task(ignore_result=True)
def events_purge_task() -> int:
    return retention.events_purge()
