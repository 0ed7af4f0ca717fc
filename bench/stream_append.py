"""The redirect's stream append alone: CPU microseconds per `links.click_stream.publish`
(its one round trip, GET of the shard's config version + XADD, included), median of 5
passes of 20,000 calls, on a Redis of BENCH_REDIS_URL (stream deleted after each pass).

    .venv/bin/python bench/stream_append.py [checkout]   # another checkout to compare with

CLICK_STREAM_SHARDS and REDIS_CLUSTER_NODES from the environment, as the app reads them.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trackly_bench_redirect")
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trackly.settings")
os.environ["CLICK_STREAM"] = "true"
os.environ["CLICK_STREAM_KEY"] = f"bench:append:{secrets.token_hex(4)}"

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402

from core import redis_conn  # noqa: E402
from links import click_stream, shards  # noqa: E402
from links.click_stream import ClickEvent  # noqa: E402

CALLS, PASSES = 20_000, 5


def main() -> None:
    event = ClickEvent(
        click_id="c" * 26, link_id="abcdEFGH", account_id=1, clicked_at=timezone.now(),
        ip="192.0.2.1", user_agent="Mozilla/5.0 (iPhone)", referer="", accept_language="en",
        method="GET",
    )  # fmt: skip
    figures = []
    for _ in range(PASSES):
        started = time.process_time()
        for _ in range(CALLS):
            click_stream.publish(event)
        figures.append((time.process_time() - started) / CALLS * 1e6)
        redis_conn.client().delete(*shards.stream_keys())
    print(  # noqa: T201 - the figure
        f"{ROOT}: publish CPU {statistics.median(figures):.1f} us a call (median of {PASSES}; "
        f"{', '.join(f'{f:.1f}' for f in figures)})"
    )


if __name__ == "__main__":
    main()
