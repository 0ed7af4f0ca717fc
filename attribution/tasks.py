"""Thin Celery tasks: each takes ids (or nothing) and calls a service."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction

from attribution import bot_checks, conversion_events, fraud, imports
from attribution.services import conversions_pending_match
from links import counting


@shared_task(ignore_result=True)
def conversions_pending_match_task() -> int:
    return conversions_pending_match()


@shared_task(ignore_result=True)
def conversions_announce_task() -> int:
    announced = total = conversion_events.conversions_announce()
    while announced == conversion_events.ANNOUNCE_BATCH:  # a burst, without waiting for beat
        announced = conversion_events.conversions_announce()
        total += announced
    return total


@shared_task(ignore_result=True)
def clicks_judge_task() -> int:
    judged = total = bot_checks.clicks_judge_pending()
    while judged == bot_checks.JUDGE_BATCH:  # keep up with a burst without waiting for beat
        judged = bot_checks.clicks_judge_pending()
        total += judged
    return total


@shared_task(ignore_result=True)
def campaigns_click_rate_task() -> int:
    return fraud.campaigns_click_rate_check()


@shared_task(ignore_result=True)
def sending_list_bot_detection_task(list_id: int, enabled: bool) -> int:
    return counting.sending_list_bot_detection_set(list_id=list_id, enabled=enabled)


@shared_task(ignore_result=True)
def conversion_import_run_task(conversion_import_id: int) -> bool:
    return imports.conversion_import_run(conversion_import_id)


def conversion_import_queue(conversion_import_id: int) -> None:
    """Run the import once the transaction that stored it commits."""
    transaction.on_commit(lambda: conversion_import_run_task.delay(conversion_import_id))
