"""gunicorn settings for `make run` (the embedded default)."""

from __future__ import annotations

from typing import Any

# One process: the local-memory cache (no Redis here) is then shared by every request,
# so a paused offer or changed link is seen at once. Threads give the concurrency.
workers = 1
threads = 8
# Without the query string: postback secrets ride in it.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)s'


def post_worker_init(worker: Any) -> None:
    from trackly.embedded import start_periodic_tasks

    start_periodic_tasks()
