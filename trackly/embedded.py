"""The embedded default has no broker and so no Celery beat: a thread in the web process
runs the beat schedule's tasks in-process instead (started by gunicorn_embedded.py)."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


def start_periodic_tasks() -> threading.Thread | None:
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        return None  # a real broker: `beat` and `worker` in the Procfile do this
    thread = threading.Thread(target=_run_forever, name="embedded-beat", daemon=True)
    thread.start()
    return thread


def _run_forever() -> None:
    schedule = settings.CELERY_BEAT_SCHEDULE
    due = dict.fromkeys(schedule, 0.0)
    while True:
        for name, entry in schedule.items():
            if time.monotonic() < due[name]:
                continue
            try:
                import_string(entry["task"]).apply()
            except Exception:
                logger.exception("embedded beat: %s failed", name)
            finally:
                close_old_connections()
            due[name] = time.monotonic() + float(entry["schedule"])
        time.sleep(1)
