"""Thin Celery tasks: each takes ids (or nothing) and calls a service."""

from __future__ import annotations

from celery import shared_task

from reporting.retention import retention_apply
from reporting.services import rollups_build


@shared_task(ignore_result=True)
def rollups_build_task() -> int:
    result = rollups_build()
    return result.days + result.messages


@shared_task(ignore_result=True)
def retention_apply_task() -> int:
    """Daily (CELERY_BEAT_SCHEDULE "retention-apply"): returns the rows deleted."""
    return sum(result.rows for result in retention_apply().values())
