"""Mint 100,000 SMS messages with 2 links each through the bulk API, into PostgreSQL, each
link written to Redis once committed (as production runs; issue 19).

Runs the production web server (gunicorn, 2 workers) against a scratch database, sends
10 bulk requests of 10,000 messages from 2 client threads, and prints links per second
(wall clock over the whole run) and the median per-request rate, then how many links
Redis holds and the memory they take.

    make bench-mint        # or: DATABASE_URL=postgres://... .venv/bin/python bench/mint.py
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import redirect as harness  # noqa: E402 - shared database and manage.py helpers

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "8790"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "100000"))
BATCH = 10_000
DATABASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trackly_bench")
harness.DATABASE_URL = DATABASE_URL
harness.ENV["DATABASE_URL"] = DATABASE_URL


def recreate_database() -> None:
    harness.recreate_database()


def manage(*args: str) -> str:
    return harness.manage(*args)


def batch(start: int) -> bytes:
    items = [
        {
            "external_id": f"bench-{i}",
            "contact": {"external_id": f"contact-{i}", "phone": f"+1415{i % 10_000_000:07d}"},
            "body": "Spring sale! {{link1}} Details: {{link2}} Reply STOP to opt out",
            "campaign": "Bench",
            "list": "Bench list",
            "links": {
                "link1": {"url": f"https://shop.example.com/p/{i}?utm=sms"},
                "link2": {"url": "https://shop.example.com/terms"},
            },
        }
        for i in range(start, start + BATCH)
    ]
    return json.dumps(items).encode()


def post(api_key: str, payload: bytes) -> float:
    request = urllib.request.Request(
        f"http://localhost:{PORT}/api/v1/messages/bulk",
        data=payload,
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310 - loopback only
        body = json.loads(response.read())
        assert response.status == 201 and len(body) == BATCH, response.status
        assert all(len(m["links"]) == 2 for m in body)
    return time.perf_counter() - started


def main() -> None:
    recreate_database()
    manage("migrate", "--no-input", "-v", "0")
    api_key = json.loads(manage("create_account", "Bench", "--domain", "go.bench.example"))[
        "api_key"
    ]
    # With Redis, as production runs: minting writes its links to the shared cache
    # (links.resolve.links_cache; BENCH_REDIS_URL, harness's default db 13).
    env = {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": harness.REDIS_URL,
        "SECRET_KEY": harness.ENV["SECRET_KEY"],
    }
    links_cached_reset()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "trackly.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "2",
            "--timeout",
            "600",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.1)
        payloads = [batch(start) for start in range(0, MESSAGES, BATCH)]
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=2) as pool:
            durations = list(pool.map(lambda p: post(api_key, p), payloads))
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait()
    with psycopg.connect(DATABASE_URL) as conn:
        stored = conn.execute("SELECT count(*) FROM links_messageshortlink").fetchone()[0]
    links = MESSAGES * 2
    assert stored == links, (stored, links)
    per_request = statistics.median(BATCH * 2 / d for d in durations)
    print(f"minted {MESSAGES:,} messages / {links:,} links in {wall:.1f} s")
    print(f"links/s (wall, 2 clients, 2 workers): {links / wall:,.0f}")
    print(f"links/s per request (median of {len(durations)}): {per_request:,.0f}")
    print(f"request seconds: median {statistics.median(durations):.2f}, max {max(durations):.2f}")
    cached, per_link = links_cached()
    print(
        f"links cached in Redis at mint: {cached:,} (MEMORY USAGE {per_link:,.0f} bytes a link,"
        f" {per_link * 1e6 / 2**30:.2f} GiB a million)"
    )


LINK_KEYS = "*:link:v*:*"  # Django's keys for links.resolve.link_key (any format)


def links_cached_reset() -> None:
    """Drop the link entries an earlier run left."""
    import redis

    client = redis.Redis.from_url(harness.REDIS_URL)
    batch: list[bytes] = []
    for key in client.scan_iter(LINK_KEYS, count=10_000):
        batch.append(key)
        if len(batch) >= 10_000:
            client.unlink(*batch)
            batch = []
    if batch:
        client.unlink(*batch)


def links_cached() -> tuple[int, float]:
    """How many link entries Redis holds, and the mean MEMORY USAGE of up to 1,000 (the
    instance's used memory would count every other database on it too)."""
    import redis

    client = redis.Redis.from_url(harness.REDIS_URL)
    keys = list(client.scan_iter(LINK_KEYS, count=10_000))
    sample = keys[:: max(1, len(keys) // 1000)][:1000]
    sizes = [client.memory_usage(key) or 0 for key in sample]
    return len(keys), statistics.mean(sizes) if sizes else 0.0


if __name__ == "__main__":
    main()
