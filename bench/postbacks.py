"""Postbacks per second with attribution, on PostgreSQL and Redis, through the production
web server: wrk (64 connections, 10 s) sends /conv with a distinct click id and txn_id per
request and the account's postback token (which a new account requires), so each one is
logged (the token redacted), checked, deduplicated (by insert) and attributed. Prints req/s,
p50 and p99, and checks that every answered postback left one conversion.

    make bench-postbacks
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import redirect as harness  # noqa: E402 - the same server, database and wrk helpers

CLICKS = 2000
harness.DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trackly_bench_postbacks"
)
harness.ENV["DATABASE_URL"] = harness.DATABASE_URL


def lua(host: str, click_ids: list[str], token: str) -> str:
    listed = ",".join(f'"{c}"' for c in click_ids)
    return f"""
clicks = {{{listed}}}
counter = 0
threads = 0
prefix = tostring(os.time())
setup = function(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
request = function()
  counter = counter + 1
  local click = clicks[(counter % #clicks) + 1]
  local path = "/conv?click_id=" .. click .. "&token={token}" ..
               "&revenue=12.50&event=purchase&txn_id=" .. prefix .. "-" .. tid .. "-" .. counter
  return wrk.format("GET", path, {{["Host"] = "{host}"}})
end
"""


def clicks_stored(expected: int, timeout: float = 120) -> None:
    """Wait until the pipeline has stored every click, so each postback finds its click."""
    started = time.monotonic()
    with psycopg.connect(harness.DATABASE_URL, autocommit=True) as conn:
        while time.monotonic() - started < timeout:
            query = "SELECT count(*) FROM links_messageclick"
            if conn.execute(query).fetchone()[0] >= expected:
                return
            time.sleep(0.1)
    raise SystemExit(f"the click pipeline stored fewer than {expected} clicks in {timeout} s")


def main() -> None:
    harness.recreate_database()
    harness.manage("migrate", "--no-input", "-v", "0")
    harness.stream_reset()
    created = json.loads(harness.manage("create_account", "Bench", "--domain", harness.HOST))
    api_key, token = created["api_key"], created["postback_token"]
    server = harness.start_server()
    consumer = harness.consumer_start()  # the click pipeline stores the clicks
    try:
        link_ids = harness.mint(api_key, CLICKS)
        click_ids = []
        for link_id in link_ids:
            request = urllib.request.Request(
                f"http://127.0.0.1:{harness.PORT}/{link_id}",
                headers={"Host": harness.HOST, "User-Agent": harness.UA},
            )
            opener = urllib.request.build_opener(harness.NoRedirect)
            location = opener.open(request, timeout=10).headers["Location"]
            click_ids.append(location.rsplit("click_id=", 1)[1])
        clicks_stored(len(click_ids))
        with psycopg.connect(harness.DATABASE_URL, autocommit=True) as conn:
            # Each conversion ten minutes after its click (a direct conversion): one seconds
            # after it would be flagged as click injection, which real traffic rarely is.
            for table in ("links_messageshortlinkclick", "links_messageclick"):
                conn.execute(f"UPDATE {table} SET clicked_at = clicked_at - interval '10 min'")
            conn.execute("ANALYZE")  # a fresh database: plan as production's analysed tables
        result = harness.wrk(lua(harness.HOST, click_ids, token))
    finally:
        consumer.terminate()
        consumer.wait()
        harness.stop_server(server)
    with psycopg.connect(harness.DATABASE_URL) as conn:
        conversions = conn.execute("SELECT count(*) FROM attribution_conversion").fetchone()[0]
        attributed = conn.execute(
            "SELECT count(*) FROM attribution_conversion WHERE message_click_id IS NOT NULL"
        ).fetchone()[0]
        logged = conn.execute("SELECT count(*) FROM attribution_postbacklog").fetchone()[0]
    server = " ".join(harness.SERVER)
    print(f"server: {server}; wrk {harness.CONNECTIONS} connections, {harness.SECONDS} s")
    print(
        f"postbacks {result['rps']:9,.0f} req/s   p50 {result['p50']:7.2f} ms"
        f"   p99 {result['p99']:7.2f} ms   non-2xx/3xx {result['bad']:.0f}"
        f"   socket errors: {result['errors']}"
    )
    print(f"conversions: {conversions:,} ({attributed:,} attributed); logged: {logged:,}")


if __name__ == "__main__":
    main()
