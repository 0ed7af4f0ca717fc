from __future__ import annotations

from celery import shared_task

from attribution.services import conversions_pending_match


@shared_task(ignore_result=True)
def conversions_pending_match_task() -> int:
    return conversions_pending_match()
