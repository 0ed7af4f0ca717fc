"""Thin Celery tasks: each takes ids (or nothing) and calls a service."""

from __future__ import annotations

from celery import shared_task

from reporting.services import rollups_build


@shared_task(ignore_result=True)
def rollups_build_task() -> int:
    result = rollups_build()
    return result.days + result.messages
