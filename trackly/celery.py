"""The Celery app of every worker and beat process (and its refusal to start without a
SECRET_KEY in production)."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, signals

from core.secret_key import InsecureSecretKey, secret_key_check

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trackly.settings")

app = Celery("trackly")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# Every Django process imports this module (trackly/__init__), so the check runs when a
# worker or beat starts, not on import. Celery logs and ignores a receiver's exception;
# SystemExit is what stops it.
@signals.celeryd_init.connect
def _worker_secret_key_check(**kwargs: Any) -> None:
    _refuse_insecure("celery worker")


@signals.beat_init.connect
def _beat_secret_key_check(**kwargs: Any) -> None:
    _refuse_insecure("celery beat")


def _refuse_insecure(process: str) -> None:
    try:
        secret_key_check(process)
    except InsecureSecretKey as exc:
        raise SystemExit(f"error: {exc}") from exc
