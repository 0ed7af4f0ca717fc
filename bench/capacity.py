"""Redis memory per million links cached and per million clicks of stream backlog.

Starts a private redis-server on a free port (deploy/redis.conf, with the AOF off so that
`used_memory` is the data set alone, and no snapshots), then, with INFO memory read before
and after each:

- links: --links (1,000,000) link cache entries as the redirect writes them
  (links.resolve: the cache's key for `link_key(link_id)`, the pickled (version, LinkInfo),
  an expiry), each a real link's LinkInfo (--samples of them, read from the database with
  links.resolve.link_info_load) under a link id of its own;
- the stream: --clicks (1,000,000) entries appended to the click stream with XADD in the
  redirect's format (links.click_stream.ClickEvent.fields()), as a backlog no consumer
  has read.

The server is stopped at the end; its directory is a temporary one.

    make bench-capacity                 # links sampled from trackly_scale10 (bench-scale)
    BENCH_DATABASE_URL=postgres://... .venv/bin/python bench/capacity.py --links 100000
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import os
import pickle
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
import redirect as harness  # noqa: E402 - the environment and Django set-up

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trackly_scale10"
)
MINT_CACHE_SECONDS = 72 * 3600  # issue 19: links cached at mint expire after 72 hours
AGENTS = [
    harness.UA,
    harness.ANDROID_UA,
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
]


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=1_000_000)
    parser.add_argument("--clicks", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=1000, help="real links to copy")
    args = parser.parse_args()
    harness.DATABASE_URL = DATABASE_URL
    harness.ENV.update({"DATABASE_URL": DATABASE_URL, "REDIS_URL": "redis://127.0.0.1:1/0"})
    harness.django_setup()  # the cache's key prefix is the settings', whatever the URL
    # Each on a server of its own: a flushed Redis keeps its allocator's pages (RSS).
    with private_redis() as client:
        links = measured(client, lambda: links_write(client, args.links, args.samples))
    with private_redis() as client:
        clicks = measured(client, lambda: stream_write(client, args.clicks))
    measures = [("links cached", args.links, links), ("stream backlog", args.clicks, clicks)]
    for name, count, (used, rss) in measures:
        print(
            f"{name}: {count:,} take {used / 2**20:,.1f} MiB used_memory "
            f"({used / count:,.0f} bytes each; {used / count * 1e6 / 2**20:,.0f} MiB per "
            f"million), used_memory_rss {rss / 2**20:,.1f} MiB"
        )


@contextlib.contextmanager
def private_redis() -> Iterator[redis.Redis]:
    """A redis-server of its own on a free port, stopped after."""
    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        server = subprocess.Popen(
            ["redis-server", str(ROOT / "deploy" / "redis.conf"), "--port", str(port),
             "--bind", "127.0.0.1", "--dir", directory, "--appendonly", "no", "--save", ""],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            client = redis.Redis(port=port)
            for _ in range(100):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            version = client.info("server")["redis_version"]
            print(f"redis-server {version} on port {port} (deploy/redis.conf, AOF off)")
            yield client
        finally:
            server.terminate()
            server.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measured(client, write) -> tuple[int, int]:  # noqa: ANN001
    """(used_memory, used_memory_rss) added by write()."""
    before = client.info("memory")
    write()
    after = client.info("memory")
    return (
        after["used_memory"] - before["used_memory"],
        after["used_memory_rss"] - before["used_memory_rss"],
    )


def links_write(client, count: int, samples: int) -> None:  # noqa: ANN001
    """`count` link cache entries in links.resolve's format, real links' LinkInfo each."""
    from django.core.cache import cache

    from links import ids
    from links.models import MessageShortLink
    from links.resolve import link_info_load, link_key

    codes = list(
        MessageShortLink.objects.order_by("-pk").values_list("link_id", flat=True)[:samples]
    )
    infos = [info for code in codes if (info := link_info_load(code)) is not None]
    if not infos:
        sys.exit(f"no links in {DATABASE_URL} to copy: fill it first (make bench-scale)")
    sizes = [len(pickle.dumps((1, i), pickle.HIGHEST_PROTOCOL)) for i in infos]
    mean = sum(sizes) / len(sizes)
    print(f"{len(infos)} real links' LinkInfo from {DATABASE_URL}: "
          f"pickled {min(sizes)} to {max(sizes)} bytes, mean {mean:.0f}")  # fmt: skip
    pipe = client.pipeline(transaction=False)
    for n in range(count):
        code = ids.new_link_id()
        info = dataclasses.replace(infos[n % len(infos)], link_id=code, pk=n + 1)
        # As links.resolve._shared_set writes it.
        data = pickle.dumps((1, info), pickle.HIGHEST_PROTOCOL)
        pipe.set(cache.make_key(link_key(code)), data, ex=MINT_CACHE_SECONDS)
        if n % 1000 == 999:
            pipe.execute()
    pipe.execute()


def click_events(links: list[tuple[str, int]], count: int, seed: int = 1) -> list:
    """`count` ClickEvents on these (link id, account id)s, now, from addresses drawn from
    a pool a tenth the clicks' size (new ones and repeats, as a blast's) and four agents."""
    from links import ids
    from links.click_stream import ClickEvent

    rng = random.Random(seed)
    ips = [".".join(str(rng.randint(1, 223 if i == 0 else 254)) for i in range(4))
           for _ in range(max(1, count // 10))]  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    out = []
    for n in range(count):
        at = now + dt.timedelta(microseconds=n)
        link_id, account_id = links[n % len(links)]
        out.append(ClickEvent(
            click_id=ids.new_click_id(at), link_id=link_id, account_id=account_id,
            clicked_at=at, ip=rng.choice(ips), user_agent=rng.choice(AGENTS),
            referer="", accept_language="en-US,en;q=0.9", method="GET",
        ))  # fmt: skip
    return out


def stream_append(client, events: list) -> None:  # noqa: ANN001
    """XADD each event to the click stream as links.click_stream.publish does, pipelined."""
    from django.conf import settings

    pipe = client.pipeline(transaction=False)
    for n, event in enumerate(events):
        pipe.xadd(settings.CLICK_STREAM_KEY, event.fields())
        if n % 1000 == 999:
            pipe.execute()
    pipe.execute()


def stream_write(client, count: int) -> None:  # noqa: ANN001
    from links import ids

    links = [(ids.new_link_id(), 1) for _ in range(10_000)]
    for start in range(0, count, 100_000):  # in parts: a million events is 1 GB of Python
        stream_append(client, click_events(links, min(100_000, count - start), seed=start))


if __name__ == "__main__":
    main()
