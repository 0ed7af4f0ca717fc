"""The click consumer's write alone, in process: CPU microseconds per stored click of
`links.click_writer.clicks_write`, this process's Python and its PostgreSQL backend's
(/proc/<pid>/stat of `pg_backend_pid()`), for first taps (each link's first click: a raw
click and a counted click) and repeat taps (the same links again: a raw click only).

    .venv/bin/python bench/click_write.py [checkout]   # another checkout to compare with

On the database `make bench-redirect` leaves (BENCH_DATABASE_URL, default
trackly_bench_redirect), its minted links that have no counted click (up to BENCH_CLICKS,
default 15,000). Each pass writes a click on each of them (first taps), then another
(repeat taps), BENCH_BATCH clicks a batch (default 500, a consumer's batch under a
backlog; 50 is one keeping up), then deletes what it wrote and vacuums the two tables.
Prints each pass and the medians of BENCH_PASSES (default 5) passes.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trackly_bench_redirect"
)
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trackly.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from links.click_stream import ClickEvent  # noqa: E402
from links.click_writer import clicks_write  # noqa: E402
from links.ids import new_click_id  # noqa: E402

BATCH = int(os.environ.get("BENCH_BATCH", "500"))
PASSES = int(os.environ.get("BENCH_PASSES", "5"))
CLICKS = int(os.environ.get("BENCH_CLICKS", "15000"))  # a pass's first taps (and repeats)
TICK = os.sysconf("SC_CLK_TCK")
AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def backend_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def events(links: list[tuple[str, int]], at: dt.datetime) -> list[ClickEvent]:
    return [
        ClickEvent(
            click_id=new_click_id(at),
            link_id=link_id,
            account_id=account_id,
            clicked_at=at,
            ip=f"10.{n % 200}.{n // 200 % 250}.{n % 97 + 1}",
            user_agent=AGENT,
            referer="",
            accept_language="en-US",
            method="GET",
        )
        for n, (link_id, account_id) in enumerate(links)
    ]


def write(batch_events: list[ClickEvent], pid: int) -> tuple[float, float, int]:
    """(Python seconds, backend seconds, rows stored) of writing these in BATCH-sized batches."""
    stored = 0
    py0, pg0 = time.process_time(), backend_seconds(pid)
    for start in range(0, len(batch_events), BATCH):
        stored += clicks_write(batch_events[start : start + BATCH])[0]
    return time.process_time() - py0, backend_seconds(pid) - pg0, stored


def forget(codes: list[str], since: dt.datetime) -> None:
    """Delete the pass's clicks, so that the links are unclicked again, and vacuum."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM links_messageclick c USING links_messageshortlink l"
            " WHERE c.short_link_id = l.id AND l.link_id = ANY(%s)",
            [codes],
        )
        cursor.execute(
            "DELETE FROM links_messageshortlinkclick k USING links_messageshortlink l"
            " WHERE k.short_link_id = l.id AND l.link_id = ANY(%s) AND k.clicked_at >= %s",
            [codes, since],
        )
        cursor.execute("VACUUM links_messageclick, links_messageshortlinkclick")


def main() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
        cursor.execute(
            "SELECT l.link_id, l.account_id FROM links_messageshortlink l"
            " WHERE NOT EXISTS (SELECT 1 FROM links_messageclick c"
            "  WHERE c.contact_id = l.contact_id AND c.message_id = l.message_id)"
            " ORDER BY l.id LIMIT %s",
            [CLICKS],
        )
        links = cursor.fetchall()
    print(f"{len(links):,} links, batches of {BATCH}", flush=True)
    codes = [link_id for link_id, _ in links]
    rows = []
    for n in range(PASSES):
        at = dt.datetime.now(dt.UTC)
        first = write(events(links, at), pid)
        repeat = write(events(links, at + dt.timedelta(seconds=1)), pid)
        forget(codes, at)
        rows.append((first, repeat))
        print(
            f"pass {n + 1}: first taps Python {first[0] / first[2] * 1e6:.1f} us,"
            f" PostgreSQL {first[1] / first[2] * 1e6:.1f} us ({first[2]:,} stored);"
            f" repeat taps Python {repeat[0] / repeat[2] * 1e6:.1f} us,"
            f" PostgreSQL {repeat[1] / repeat[2] * 1e6:.1f} us",
            flush=True,
        )

    def med(i: int, j: int) -> float:
        return statistics.median(r[i][j] / r[i][2] * 1e6 for r in rows)

    print(
        f"median of {PASSES} passes, batches of {BATCH}: first taps Python {med(0, 0):.1f} us +"
        f" PostgreSQL {med(0, 1):.1f} us; repeat taps Python {med(1, 0):.1f} us +"
        f" PostgreSQL {med(1, 1):.1f} us a stored click"
    )


if __name__ == "__main__":
    main()
