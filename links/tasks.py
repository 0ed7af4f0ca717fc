"""Links' Celery tasks: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from links.privacy import ips_anonymize


@shared_task(ignore_result=True)
def ips_anonymize_task() -> int:
    return ips_anonymize()
