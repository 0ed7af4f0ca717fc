"""The redirect under load: the production web server on PostgreSQL and Redis, driven by
wrk at 64 connections for 10 s, on /healthz of the same app and on short links.

Both click paths in one run: "direct" (the click written in the request, as before the
click pipeline, and as with Redis down) and "pipeline" (the click appended to the Redis
Stream, `manage.py consume_clicks` writing it). For the pipeline it also prints the lag
from redirect to committed row (p50, p99), the consumer's rows/s during the run, and its
capacity: the rate at which one consumer drains a backlog built with it stopped; then a
blast: BENCH_BLAST_LINKS links (60,000) each clicked about once, as an SMS campaign's are,
so every click is on a link no web process has cached (minting wrote each to Redis), with
its ratio to the cached redirect of the same run and its p99 against issue 19's targets
(BENCH_BLAST_UNCACHED=1 adds a blast whose mint-time entries were deleted). It also
prints the CPU each part used (web server and wrk per request; Redis, consumer and
PostgreSQL per stored click), and from those the best ratio to /healthz that storing the
clicks leaves room for.

    make bench-redirect                   # the production server (Procfile), both paths
    python bench/redirect.py --paced      # the lag at a steady half of the maximum (hey -q)
    BENCH_SERVERS=all make bench-redirect # every candidate server, to choose by measurement

With BENCH_SUBSCRIBE_ALL=1, the account also has a webhook endpoint subscribed to every
type in core.events.SUBSCRIBABLE (made through the API with the account's key; its URL a
local receiver in a process of its own, WEBHOOK_ALLOW_PRIVATE=true). Nothing judges,
numbers, fans out or delivers while wrk runs (no workers are started: the figures above
are timed as without the switch). After the last run this script runs the judge, the
sequencer, the fan-out and the delivery in turn, in this process, until the receiver has
every event the log holds (the clicks of the last run: each run starts by truncating the
clicks before), and prints how many it delivered and how long that took. wrk's taps all
come from 127.0.0.1, so the judge turns nearly all of them bots by the IP fan-out rule
(click.recorded events, few or no message.clicked), one transaction per click outside its
batch: expect minutes of judging for the blast. Without the switch, what it measures and
prints is unchanged.

With BENCH_ROUTING=1, the taps run with routing in use (issue 17; docs/routing.md): the
account has a UTM template and the links' campaign one of its own; every link is on an
offer with two A/B variants, and every other link's offer has routing rules too (country,
language and device rules, first match wins). wrk's agents are mostly iPhones, which no
rule matches (their taps are decided down the rules to the variant), and one in eight an
Android phone, which the last rule sends to the Play Store; their Accept-Language varies.
Links without rules cost the redirect nothing more than a dictionary lookup and the UTM
merge; those with rules add the click's traits (a cached agent parse, an in-memory
address lookup). Compare with a run without the switch, same sitting.
"""

from __future__ import annotations

import json
import os
import re
import resource
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Lock
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PORT = 8791
PORT = int(os.environ.get("BENCH_PORT", str(DEFAULT_PORT)))
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trackly_bench_redirect"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
HOST = "go.bench.example"
CONNECTIONS, SECONDS, LINKS = 64, 10, 2000
# A blast: this many links, each clicked about once (as in an SMS campaign, where every
# contact has a link of their own), so no web process has them cached.
BLAST_LINKS = int(os.environ.get("BENCH_BLAST_LINKS", "60000"))
# The candidates, as the Procfile would run them on this 2-core machine.
SERVERS = {
    "granian": "granian --interface wsgi --workers {workers} --blocking-threads {threads} "
    "--http 1 --http1-header-read-timeout 10000 --no-access-log --log-level warning "
    "trackly.wsgi:application --host 127.0.0.1 --port {port}",
    "gunicorn-gthread": "gunicorn trackly.wsgi --workers 4 --worker-class gthread --threads 8 "
    "--log-level warning --bind 127.0.0.1:{port}",
    "gunicorn-sync": "gunicorn trackly.wsgi --workers 8 --worker-class sync "
    "--log-level warning --bind 127.0.0.1:{port}",
}
PRODUCTION = "granian"
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
THREADS = int(os.environ.get("BENCH_THREADS", "4"))
SERVER = (
    SERVERS[os.environ.get("BENCH_SERVER", PRODUCTION)]
    .format(port=PORT, workers=WORKERS, threads=THREADS)
    .split()
)
ENV = {
    **os.environ,
    "DATABASE_URL": DATABASE_URL,
    "REDIS_URL": REDIS_URL,
    "LOG_LEVEL": "WARNING",
    # Servers and consumers refuse the development key (core.secret_key): one per run.
    "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
}
SUBSCRIBE_ALL = os.environ.get("BENCH_SUBSCRIBE_ALL") == "1"
if SUBSCRIBE_ALL:
    ENV["WEBHOOK_ALLOW_PRIVATE"] = "true"  # the receiver is on loopback
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
ROUTING = os.environ.get("BENCH_ROUTING") == "1"
ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
# BENCH_ROUTING's agents: seven iPhones to one Android; (agent, Accept-Language).
ROUTING_CLIENTS = (
    [(UA, "en-US,en;q=0.9")] * 4
    + [(UA, "fr-FR,fr;q=0.8,en;q=0.5")] * 3
    + [(ANDROID_UA, "de-DE,de;q=0.9")]
)
ROUTING_VARIANTS = [
    {
        "name": "a",
        "url": "https://shop.example.com/a?utm_source=bench&c={contact_id}",
        "weight": 50,
    },
    {"name": "b", "url": "https://shop.example.com/b", "weight": 50},
]
# Mostly rules wrk's agents do not match (loopback has no country), then one that its
# Android agent does.
ROUTING_RULES = [
    {"country": "US", "device": "ios", "url": "https://apps.apple.com/app/id1"},
    {"country": "GB", "url": "https://uk.shop.example.com/"},
    {"language": "es", "url": "https://es.shop.example.com/"},
    {"language": "ja", "device": "mobile", "url": "https://jp.shop.example.com/"},
    {"device": "desktop", "url": "https://shop.example.com/desk"},
    {"device": "android", "url": "https://play.google.com/store/apps/details?id=com.example"},
]
ROUTING_UTM = "utm_source=sms&utm_medium={channel}&utm_campaign={campaign}&utm_content={list}"


def recreate_database() -> None:
    parts = urlsplit(DATABASE_URL)
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parts.path.lstrip("/")}"')


def manage(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=ENV,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None

    def http_error_302(self, req, fp, code, msg, headers):  # noqa: ANN001, ANN201
        return fp


def start_server(server: list[str] | None = None, **env: str) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", *(server or SERVER)], cwd=ROOT, env={**ENV, **env}
    )
    for _ in range(600):  # up to a minute: a busy machine starts granian slowly
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)  # noqa: S310
            break
        except OSError:
            time.sleep(0.1)
    return server


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait()


def api(api_key: str, method: str, path: str, body: object) -> dict:
    """One call of the running server's API with the account's key."""
    request = urllib.request.Request(
        f"http://localhost:{PORT}/api/v1/{path}",
        data=json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


# BENCH_ROUTING: the two offers' ids (variants; variants and rules), set by routing_setup.
ROUTING_OFFERS: list[int] = []


def routing_setup(api_key: str) -> None:
    """BENCH_ROUTING's configuration, through the API: the account's UTM template, a
    campaign's own, an offer with variants and one with variants and rules."""
    api(api_key, "PATCH", "account", {"utm_template": ROUTING_UTM})
    api(api_key, "POST", "campaigns", {"name": "Bench spring", "utm_template": ROUTING_UTM})
    for name, rules in (("Split", []), ("Split and routed", ROUTING_RULES)):
        offer = api(
            api_key,
            "POST",
            "offers",
            {
                "name": name,
                "destination_url": "https://shop.example.com/p",
                "variants": ROUTING_VARIANTS,
                "rules": rules,
            },
        )
        ROUTING_OFFERS.append(offer["id"])


def mint_item(contact: str, i: int) -> dict:
    if not ROUTING:
        return {"contact": {"external_id": f"{contact}{i}"}, "body": "Deal {{link1}}",
                "links": {"link1": {"url": f"https://shop.example.com/p/{i}?utm=sms"}}}  # fmt: skip
    return {
        "contact": {"external_id": f"{contact}{i}"},
        "body": "Deal {{link1}}",
        "campaign": "Bench spring",
        "list": "Bench list",
        "links": {"link1": {"offer": ROUTING_OFFERS[i % 2]}},
    }


def mint(api_key: str, count: int = LINKS, contact: str = "c") -> list[str]:
    if count > 10_000:  # the bulk API's limit per request
        return [
            link_id
            for start in range(0, count, 10_000)
            for link_id in mint(api_key, min(10_000, count - start), f"{contact}{start}-")
        ]
    items = [mint_item(contact, i) for i in range(count)]
    request = urllib.request.Request(
        f"http://localhost:{PORT}/api/v1/messages/bulk",
        data=json.dumps(items).encode(),
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback
        return [m["links"][0]["link_id"] for m in json.loads(response.read())]


def wrk(script: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "-s", f.name,
         f"http://127.0.0.1:{PORT}"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    os.unlink(f.name)

    def latency(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    requests = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": latency("50%"),
        "p99": latency("99%"),
        "requests": float(requests.group(1)) if requests else 0.0,
        "bad": float(non_2xx.group(1)) if non_2xx else 0.0,
        "errors": errors.group(1) if errors else "none",  # type: ignore[dict-item]
    }


def lua(paths: list[str]) -> str:
    if ROUTING:
        return routing_lua(paths)
    listed = ",".join(f'"{p}"' for p in paths)
    return f"""
paths = {{{listed}}}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1],
                    {{["Host"] = "{HOST}", ["User-Agent"] = "{UA}"}})
end
"""


def routing_lua(paths: list[str]) -> str:
    """As lua(), the agent and Accept-Language taken in turn from ROUTING_CLIENTS."""
    listed = ",".join(f'"{p}"' for p in paths)
    clients = ",".join(
        f'{{["Host"] = "{HOST}", ["User-Agent"] = "{ua}", ["Accept-Language"] = "{lang}"}}'
        for ua, lang in ROUTING_CLIENTS
    )
    return f"""
paths = {{{listed}}}
clients = {{{clients}}}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1], clients[(counter % #clients) + 1])
end
"""


def consumer_start() -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "consume_clicks"], cwd=ROOT, env={**ENV, "CLICK_STREAM": "1"}
    )


def stream_reset() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).delete("trackly:clicks")


def stream_backlog() -> int:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    backlog = client.xlen("trackly:clicks")
    try:
        pending = client.xpending("trackly:clicks", "click-writers")["pending"]
    except redis.ResponseError:
        pending = 0
    return backlog + pending


def wait_drained(timeout: float = 300) -> float:
    started = time.monotonic()
    while stream_backlog() and time.monotonic() - started < timeout:
        time.sleep(0.05)
    return time.monotonic() - started


def clicks_reset() -> None:
    wait_drained()
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("TRUNCATE links_messageclick, links_messageshortlinkclick CASCADE")


def lag_and_rate() -> dict[str, float]:
    with psycopg.connect(DATABASE_URL) as conn:
        row = conn.execute(
            """SELECT count(*),
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY recorded_at - clicked_at),
                  percentile_cont(0.99) WITHIN GROUP (ORDER BY recorded_at - clicked_at),
                  extract(epoch FROM max(recorded_at) - min(recorded_at))
               FROM links_messageshortlinkclick"""
        ).fetchone()
    count, p50, p99, span = row
    return {
        "rows": count,
        "lag_p50": p50.total_seconds() * 1000,
        "lag_p99": p99.total_seconds() * 1000,
        "rows_per_s": count / float(span) if span else 0.0,
    }


TICK = os.sysconf("SC_CLK_TCK")


BENCH_DATABASE = urlsplit(DATABASE_URL).path.lstrip("/")


def _serves_bench_database(proc: str) -> bool:
    """Whether a PostgreSQL process works for the bench's database: its backends and
    autovacuum workers name it in their title (`postgres: 15/main: postgres trackly_bench_
    redirect 127.0.0.1(...) idle`). The machine's other databases (other benches, test runs)
    are not this bench's cost; nor are the server-wide processes (WAL writer, checkpointer),
    which every database's writes keep busy (a backend writes its own commit's WAL)."""
    try:
        title = Path(proc, "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return False
    return f" {BENCH_DATABASE} " in title


def cpu_seconds(server: subprocess.Popen, consumer: subprocess.Popen | None) -> dict[str, float]:
    """CPU seconds used so far by each part: the web server (with its workers), the
    consumer, PostgreSQL (the processes serving the bench's database), Redis, and the
    finished children of this script (wrk)."""
    procs: dict[int, tuple[str, int, float]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        if comm.startswith("postgres") and not _serves_bench_database(entry.path):
            comm = "postgres (another database)"
        fields = stat[stat.rindex(")") + 2 :].split()
        procs[int(entry.name)] = (comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)

    def tree(root: int) -> float:
        pids, total = {root}, 0.0
        for _ in range(3):  # granian: main, workers (and their threads share the pid)
            pids |= {pid for pid, (_, ppid, _) in procs.items() if ppid in pids}
        for pid in pids:
            total += procs.get(pid, ("", 0, 0.0))[2]
        return total

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "web": tree(server.pid),
        "consumer": tree(consumer.pid) if consumer is not None else 0.0,
        "postgres": sum(t for comm, _, t in procs.values() if comm == "postgres"),
        "redis": sum(t for comm, _, t in procs.values() if comm.startswith("redis-server")),
        "wrk": children.ru_utime + children.ru_stime,
    }


def measured(
    script: str, server: subprocess.Popen, consumer: subprocess.Popen | None
) -> dict[str, float]:
    """wrk's figures, with the CPU each part used during the run."""
    before = cpu_seconds(server, consumer)
    out = wrk(script)
    after = cpu_seconds(server, consumer)
    out.update({f"cpu_{part}": after[part] - before[part] for part in before})
    return out


def run_server(
    name: str, link_ids: list[str], pipeline: bool, blast_ids: dict[str, list[str]]
) -> dict[str, object]:
    """healthz, then the redirect, on one server; with the pipeline, its lag and rates."""
    argv = SERVERS[name].format(port=PORT, workers=WORKERS, threads=THREADS).split()
    server = start_server(argv, CLICK_STREAM="1" if pipeline else "0")
    consumer = consumer_start() if pipeline else None
    out: dict[str, object] = {"server": name, "path": "pipeline" if pipeline else "direct"}
    try:
        wrk(lua([f"/{i}" for i in link_ids[:200]]))  # warm: caches, connections
        time.sleep(1)
        clicks_reset()
        out["healthz"] = measured(lua(["/healthz"]), server, consumer)
        out["redirect"] = measured(lua([f"/{i}" for i in link_ids]), server, consumer)
        if pipeline:
            before = cpu_seconds(server, consumer)
            out["drain_after"] = wait_drained()
            after = cpu_seconds(server, consumer)
            # What storing the burst's clicks cost in all (during the run and the drain).
            out["cpu_store_parts"] = {
                part: out["redirect"][f"cpu_{part}"] + after[part] - before[part]
                for part in ("redis", "consumer", "postgres")
            }
            out["cpu_store"] = sum(out["cpu_store_parts"].values())
            out.update(lag_and_rate())
            # Capacity: a backlog built with no consumer running, then drained by one.
            assert consumer is not None
            consumer.terminate()
            consumer.wait()
            clicks_reset()
            wrk(lua([f"/{i}" for i in link_ids]))
            backlog = stream_backlog()
            consumer = consumer_start()
            drained = wait_drained()
            out["capacity"] = backlog / drained if drained else 0.0
            out["backlog"] = backlog
            out.update(blast_run(server, consumer, blast_ids))
        else:
            with psycopg.connect(DATABASE_URL) as conn:
                out["rows"] = conn.execute(
                    "SELECT count(*) FROM links_messageshortlinkclick"
                ).fetchone()[0]
    finally:
        if consumer is not None:
            consumer.terminate()
            consumer.wait()
        stop_server(server)
    return out


def report(r: dict) -> None:
    print(f"\n{r['server']} / {r['path']} (wrk {CONNECTIONS} connections, {SECONDS} s each)")
    for name in ("healthz", "redirect"):
        w = r[name]
        print(
            f"  {name:9} {w['rps']:9,.0f} req/s   p50 {w['p50']:7.2f} ms   p99 {w['p99']:7.2f} ms"
            f"   non-2xx/3xx {w['bad']:.0f}   socket errors: {w['errors']}"
        )
    h, d = r["healthz"], r["redirect"]
    print(f"  ratio redirect/healthz: throughput {d['rps'] / h['rps']:.2f}")
    per_healthz = (h["cpu_web"] + h["cpu_wrk"]) / h["requests"] * 1e6
    per_redirect = (d["cpu_web"] + d["cpu_wrk"]) / d["requests"] * 1e6
    print(
        f"  CPU per request (web server + wrk): healthz {per_healthz:.0f} us,"
        f" redirect {per_redirect:.0f} us"
    )
    if r["path"] == "pipeline":
        per_click = r["cpu_store"] / r["rows"] * 1e6 if r["rows"] else 0.0
        print(
            f"  CPU per click stored (Redis + consumer + PostgreSQL): {per_click:.0f} us;"
            f" on the same cores a redirect costing no more than /healthz would reach a"
            f" ratio of at most {per_healthz / (per_healthz + per_click):.2f}"
        )
        if r["rows"]:
            parts = ", ".join(
                f"{part} {seconds / r['rows'] * 1e6:.0f} us"
                for part, seconds in r["cpu_store_parts"].items()
            )
            print(f"    of which {parts} (Redis: the whole server, shared with other users)")
        print(
            f"  lag redirect -> committed row: p50 {r['lag_p50']:.1f} ms, p99 {r['lag_p99']:.1f} ms"
            f"; stream empty {r['drain_after']:.2f} s after the burst"
        )
        print(
            f"  consumer: {r['rows']:,} rows stored, {r['rows_per_s']:,.0f} rows/s during the run;"
            f" capacity {r['capacity']:,.0f} rows/s (drained a {r['backlog']:,} backlog)"
        )
        blast_report(r)
    else:
        print(f"  clicks stored during the redirect run: {r['rows']:,}")


# The blast (issue 19): links minted just before (with their entries written to Redis at
# mint, links.resolve.links_cache), each tapped about once, so every tap is on a link no
# web process has seen; set against the cached redirect of the same run.
BLAST_TARGET_RATIO, BLAST_TARGET_P99_MS = 0.8, 30.0
# BENCH_BLAST_UNCACHED=1: also a blast on as many links whose mint-time entries are
# deleted (as before issue 19: each first tap a miss, the redirect's SELECT and a SET).
BLAST_UNCACHED = os.environ.get("BENCH_BLAST_UNCACHED") == "1"
WRK_THREADS = 2  # wrk()'s -t2: blast_lua's stride


def blast_mint(api_key: str) -> dict[str, list[str]]:
    """The blast's links, minted through the API (so their entries are cached at mint);
    with BENCH_BLAST_UNCACHED a second set whose entries are then deleted."""
    ids = {"cached": mint(api_key, BLAST_LINKS, contact="b")}
    if BLAST_UNCACHED:
        ids["uncached"] = mint(api_key, BLAST_LINKS, contact="u")
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        prefix = os.environ.get("CACHE_KEY_PREFIX", "trackly")
        for start in range(0, len(ids["uncached"]), 1000):
            # Django's key for links.resolve.link_key: "<prefix>:<version 1>:link:v3:<id>".
            chunk = ids["uncached"][start : start + 1000]
            client.delete(*(f"{prefix}:1:link:v3:{i}" for i in chunk))
    return ids


def blast_lua(paths: list[str]) -> str:
    """As lua(), but wrk's threads take turns through the list (thread t taps t, t + 2,
    ...), so each link is tapped once, not once per thread."""
    listed = ",".join(f'"{p}"' for p in paths)
    clients = ROUTING_CLIENTS if ROUTING else [(UA, "")]
    headers = ",".join(
        f'{{["Host"] = "{HOST}", ["User-Agent"] = "{ua}"'
        + (f', ["Accept-Language"] = "{lang}"' if lang else "")
        + "}"
        for ua, lang in clients
    )
    return f"""
paths = {{{listed}}}
clients = {{{headers}}}
local threads = 0
function setup(thread)
  thread:set("first", threads)
  threads = threads + 1
end
function init(args)
  counter = first - {WRK_THREADS}
end
request = function()
  counter = counter + {WRK_THREADS}
  return wrk.format("GET", paths[(counter % #paths) + 1], clients[(counter % #clients) + 1])
end
"""


def blast_run(
    server: subprocess.Popen, consumer: subprocess.Popen | None, blast_ids: dict[str, list[str]]
) -> dict[str, object]:
    """Each blast: wrk over its links, then every click stored."""
    out: dict[str, object] = {}
    for kind, ids in blast_ids.items():
        clicks_reset()
        out[f"blast_{kind}"] = measured(blast_lua([f"/{i}" for i in ids]), server, consumer)
        wait_drained()
        out[f"blast_{kind}_rows"] = lag_and_rate()["rows"]
    return out


def blast_report(r: dict) -> None:
    cached = r["redirect"]
    for kind, what in (("cached", "cached in Redis at mint"), ("uncached", "not cached anywhere")):
        if f"blast_{kind}" not in r:
            continue
        b, rows = r[f"blast_{kind}"], r[f"blast_{kind}_rows"]
        print(
            f"  blast (links tapped about once, {what}): {b['rps']:,.0f} req/s"
            f"   p50 {b['p50']:.2f} ms   p99 {b['p99']:.2f} ms   non-2xx/3xx {b['bad']:.0f};"
            f" {rows:,} clicks stored for {b['requests']:,.0f} answers"
            " (taps still in flight when wrk stopped are stored too)"
        )
        print(
            f"    ratio blast/cached redirect: {b['rps'] / cached['rps']:.2f}"
            f" (target >= {BLAST_TARGET_RATIO}); blast p99 {b['p99']:.2f} ms"
            f" (target <= {BLAST_TARGET_P99_MS:.0f})"
        )


def blast_summary(results: list[dict]) -> None:
    print("blast: server / redirect req/s / blast req/s / ratio / blast p99 ms / targets met")
    for r in results:
        if "blast_cached" not in r:
            continue
        d, b = r["redirect"], r["blast_cached"]
        ratio = b["rps"] / d["rps"]
        met = ratio >= BLAST_TARGET_RATIO and b["p99"] <= BLAST_TARGET_P99_MS
        print(
            f"  {r['server']:17} {d['rps']:9,.0f} {b['rps']:9,.0f} {ratio:6.2f}"
            f" {b['p99']:8.2f}  {'yes' if met else 'NO'}"
        )


# --paced: the lag at a steady half of the measured maximum (issue 19's "real time at a
# realistic load"), hey's per-worker rate limit as the paced load generator.
PACED_SECONDS = int(os.environ.get("BENCH_PACED_SECONDS", "20"))
PACED_LINKS = 8  # one hey process per link (hey taps one URL), each with PACED_WORKERS
PACED_WORKERS = 4


def hey(path: str, rate: float, seconds: int) -> subprocess.Popen:
    """hey tapping one short link for `seconds` at `rate` requests a second in all (its
    -q is per worker: PACED_WORKERS workers at rate / PACED_WORKERS each), not following
    the redirect."""
    return subprocess.Popen(
        ["hey", "-z", f"{seconds}s", "-c", str(PACED_WORKERS), "-q", f"{rate / PACED_WORKERS:.2f}",
         "-cpus", "1", "-disable-redirects", "-host", HOST, "-H", f"User-Agent: {UA}",
         f"http://127.0.0.1:{PORT}{path}"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def run_paced(link_ids: list[str]) -> dict[str, float]:
    """The production server with the pipeline: wrk's maximum on the redirect, then hey at
    half of it for PACED_SECONDS; the lag from redirect to stored row (recorded_at, the
    row's insert, minus clicked_at, the redirect's time) of every click of the paced run."""
    server = start_server(CLICK_STREAM="1")
    consumer = consumer_start()
    try:
        wrk(lua([f"/{i}" for i in link_ids[:200]]))  # warm: caches, connections
        clicks_reset()
        peak = wrk(lua([f"/{i}" for i in link_ids]))["rps"]
        clicks_reset()
        rate = peak / 2
        before = cpu_seconds(server, consumer)
        runs = [hey(f"/{i}", rate / PACED_LINKS, PACED_SECONDS) for i in link_ids[:PACED_LINKS]]
        outputs = [run.communicate()[0] for run in runs]
        drained = wait_drained()
        after = cpu_seconds(server, consumer)
        out = lag_and_rate()
    finally:
        consumer.terminate()
        consumer.wait()
        stop_server(server)
    achieved = sum(
        float(m.group(1)) for o in outputs if (m := re.search(r"Requests/sec:\s+([\d.]+)", o))
    )
    p99s = [float(m.group(1)) * 1000 for o in outputs if (m := re.search(r"99% in ([\d.]+)", o))]
    store = sum(after[part] - before[part] for part in ("consumer", "postgres", "redis"))
    out.update(
        peak=peak,
        rate=rate,
        achieved=achieved,
        redirect_p99=max(p99s, default=0.0),
        drained=drained,
        cpu_per_click=store / out["rows"] * 1e6 if out["rows"] else 0.0,
    )
    return out


def report_paced(r: dict[str, float]) -> None:
    print(
        f"\npaced (hey, {PACED_LINKS} links x {PACED_WORKERS} workers, {PACED_SECONDS} s):"
        f" maximum {r['peak']:,.0f} req/s (wrk), paced at half: {r['rate']:,.0f} req/s asked,"
        f" {r['achieved']:,.0f} req/s answered, redirect p99 {r['redirect_p99']:.1f} ms"
    )
    print(
        f"  lag redirect -> stored row: p50 {r['lag_p50']:.1f} ms, p99 {r['lag_p99']:.1f} ms"
        f" ({r['rows']:,} clicks; stream empty {r['drained']:.2f} s after the run);"
        f" CPU per click stored {r['cpu_per_click']:.0f} us"
    )


def paced_main() -> None:
    """--paced: the database and links as the full run makes them, then run_paced only."""
    recreate_database()
    manage("migrate", "--no-input", "-v", "0")
    api_key = json.loads(manage("create_account", "Bench", "--domain", HOST))["api_key"]
    stream_reset()
    server = start_server()
    try:
        link_ids = mint(api_key)
    finally:
        stop_server(server)
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("ANALYZE")
    report_paced(run_paced(link_ids))


# BENCH_SUBSCRIBE_ALL: the receiver (its own process), the endpoint, the delivery after.


class _Receiver(BaseHTTPRequestHandler):
    """Answers 200 to every POST and counts the distinct webhook-ids; GET says how many."""

    protocol_version = "HTTP/1.1"
    seen: set[str] = set()
    lock = Lock()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with self.lock:
            self.seen.add(self.headers.get("webhook-id", ""))
        self.answer(200, b"")

    def do_GET(self) -> None:  # noqa: N802 - the count (and the readiness probe)
        with self.lock:
            self.answer(200, str(len(self.seen)).encode())

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def receiver_start() -> tuple[subprocess.Popen, int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, __file__, "--receive", str(port)])
    for _ in range(100):
        try:
            receiver_count(port)
            break
        except OSError:
            time.sleep(0.05)
    return process, port


def receiver_count(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:  # noqa: S310
        return int(response.read())


def django_setup() -> None:
    os.environ.update(ENV)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trackly.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def subscribe_all(api_key: str, receiver_port: int) -> None:
    """A webhook endpoint of the account for every subscribable type (the running server's
    API, the account's key)."""
    from core.events import SUBSCRIBABLE

    request = urllib.request.Request(
        f"http://localhost:{PORT}/api/v1/webhooks",
        data=json.dumps(
            {"url": f"http://127.0.0.1:{receiver_port}/hook", "events": list(SUBSCRIBABLE)}
        ).encode(),
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
        assert response.status == 201, response.status


def deliver_all(receiver_port: int, timeout: float = 3600) -> None:
    """Judge, number, fan out and deliver, each in turn until it has nothing left, until the
    receiver has every event of the log; print the count and the time each part took."""
    from django.db.models import Count

    from attribution.bot_checks import clicks_judge_pending
    from core.events import events_sequence
    from core.models import Event
    from links.models import MessageShortLinkClick
    from webhooks.delivery import deliveries_send_due
    from webhooks.fanout import events_fan_out
    from webhooks.sender import Sender

    def drained(step) -> float:  # noqa: ANN001
        t = time.perf_counter()
        while step():
            pass
        return time.perf_counter() - t

    split = {"judge": 0.0, "sequence": 0.0, "fan-out": 0.0, "delivery": 0.0}
    started = time.perf_counter()
    with Sender() as sender:
        while True:
            split["judge"] += drained(clicks_judge_pending)
            split["sequence"] += drained(events_sequence)
            split["fan-out"] += drained(events_fan_out)
            split["delivery"] += drained(lambda: deliveries_send_due(sender=sender))
            received, logged = receiver_count(receiver_port), Event.objects.count()
            settled = not MessageShortLinkClick.objects.filter(judged_at__isnull=True).exists()
            if settled and received >= logged:
                break
            assert time.perf_counter() - started < timeout, f"{received:,} of {logged:,} received"
            time.sleep(0.2)  # a delivery that failed is retried on its schedule
    took = time.perf_counter() - started
    by_type = dict(Event.objects.values_list("type").annotate(n=Count("id")).order_by("type"))
    parts = ", ".join(f"{part} {seconds:.2f} s" for part, seconds in split.items())
    kinds = ", ".join(f"{kind} {n:,}" for kind, n in by_type.items())
    print(f"\nevents delivered after the runs (every type subscribed): {received:,} ({kinds})")
    rate = received / split["delivery"] if split["delivery"] else 0.0
    print(f"  delivering took {took:.2f} s ({parts}); delivery {rate:,.0f}/s")


def main() -> None:
    receiver, receiver_port = None, None
    if SUBSCRIBE_ALL:
        receiver, receiver_port = receiver_start()
        django_setup()
    try:
        run(receiver_port)
    finally:
        if receiver is not None:
            receiver.terminate()
            receiver.wait()


def run(receiver_port: int | None) -> None:
    recreate_database()
    manage("migrate", "--no-input", "-v", "0")
    api_key = json.loads(manage("create_account", "Bench", "--domain", HOST))["api_key"]
    stream_reset()
    chosen = os.environ.get("BENCH_SERVERS", PRODUCTION)
    names = list(SERVERS) if chosen == "all" else chosen.split(",")
    server = start_server(
        SERVERS[names[0]].format(port=PORT, workers=WORKERS, threads=THREADS).split()
    )
    try:
        if receiver_port is not None:
            subscribe_all(api_key, receiver_port)
        if ROUTING:
            routing_setup(api_key)
        link_ids = mint(api_key)
        blast_ids = blast_mint(api_key)
    finally:
        stop_server(server)
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("ANALYZE")
    results = []
    for name in names:
        for pipeline in (False, True):
            results.append(run_server(name, link_ids, pipeline, blast_ids))
            report(results[-1])
    print("\nsummary: server / path / healthz req/s / redirect req/s / ratio / redirect p99 ms")
    for r in results:
        h, d = r["healthz"], r["redirect"]
        print(
            f"  {r['server']:17} {r['path']:9} {h['rps']:9,.0f} {d['rps']:9,.0f}"
            f" {d['rps'] / h['rps']:6.2f} {d['p99']:8.2f}"
        )
    blast_summary(results)
    if receiver_port is not None:
        deliver_all(receiver_port)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--receive"]:
        ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), _Receiver).serve_forever()
    elif sys.argv[1:2] == ["--paced"]:
        paced_main()
    else:
        main()
