"""Thin Celery tasks: each takes ids (or nothing) and calls a service."""

from __future__ import annotations

from celery import shared_task

from audiences.consumer import audiences_consume, audiences_sweep
from audiences.membership import audience_evaluate
from audiences.models import Audience


@shared_task(ignore_result=True)
def audiences_consume_task() -> int:
    return audiences_consume()


@shared_task(ignore_result=True)
def audiences_sweep_task() -> int:
    changes = audiences_sweep()
    return changes.entered + changes.left


@shared_task(ignore_result=True)
def audience_evaluate_task(audience_id: int) -> int:
    audience = Audience.objects.filter(pk=audience_id).first()
    if audience is None:  # deleted since
        return 0
    changes = audience_evaluate(audience)
    return changes.entered + changes.left
