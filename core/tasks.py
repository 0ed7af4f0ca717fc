"""Thin Celery tasks of core: the partitions' upkeep (core.partitions)."""

from __future__ import annotations

from celery import shared_task

from core.partitions import partitions_maintain


@shared_task(ignore_result=True)
def partitions_maintain_task() -> int:
    """Daily (CELERY_BEAT_SCHEDULE "partitions-maintain"): returns the partitions created."""
    return sum(len(names) for names in partitions_maintain().values())
