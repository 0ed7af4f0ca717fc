"""Thin Celery tasks: the trigger consumer and the runner of due runs (beat, every second)."""

from __future__ import annotations

from celery import shared_task

from automations.runner import runs_due
from automations.triggers import automations_consume


@shared_task(ignore_result=True)
def automations_consume_task() -> int:
    return automations_consume()


@shared_task(ignore_result=True)
def automations_run_due_task() -> int:
    counts = runs_due()
    return counts.fired + counts.skipped
