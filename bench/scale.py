"""Costs as the data grows: the same three measurements at 10 and at 30 million raw clicks.

For each size N (raw clicks; messages N/10, conversions N/100, and the period's weeks
scaled with N, 8 weeks at 10M, so that one day holds as many rows at every size: the data
grows by history, as an account's does), a database of its own (trackly_scale10,
trackly_scale30) is filled with `manage.py fill_scale_data` under `nice -n 19` the first
time (its rollups built then, niced too) and reused afterwards; then, in a process of its
own:

- the consumer: --stream (100,000) clicks on the fill's links (--clicks-on recent: those of
  the last 8 weeks' messages at every size, the same traffic on more history), in the
  redirect's format
  (links.click_stream.ClickEvent, appended with XADD as the redirect does), are put in the
  Redis stream with no consumer running; then the real `manage.py consume_clicks` stores
  them. Rows per second from its first stored batch to the stream empty (its start-up not
  counted), and its CPU per row;
- report p95: the report API (reports.py's dimensions, all time and the last 7 days), after
  `build_rollups`, one request at a time, on the production server (reports.py's harness);
- retention: every account's `data_retention_days` set through the API so that exactly one
  more (whole) local day falls past it, then `manage.py apply_retention` timed (wall, the
  command's own start-up included, as cron runs it). A partial first day of the fill goes
  in an untimed run first. Each run of this script removes one more day.

It also prints what the database holds (pg_database_size; the raw click table's data and
its indexes, summed over its partitions when it has any, per million rows). Then a table
of every size with the ratio of each figure to the smallest size's (the target: within 20%).

    make bench-scale                                    # 10M and 30M (fills take long)
    .venv/bin/python bench/scale.py --sizes 100000,300000   # a quick try
    .venv/bin/python bench/scale.py --table             # print the saved results again

Each size's figures are kept in var/scale-<database>.json (the fill's summary, with its
logins, in var/bench-<database>.json).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
import urllib.request
import zoneinfo
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg

os.environ.setdefault("BENCH_PORT", "8794")  # reports.py's harness port, not its 8792
sys.path.insert(0, str(Path(__file__).resolve().parent))
import capacity  # noqa: E402 - the redirect's click events, appended as it appends them
import redirect as harness  # noqa: E402 - database, manage.py, server, consumer helpers
import reports  # noqa: E402 - the report probes, the login-free API opener, percentiles

ROOT = Path(__file__).resolve().parent.parent
SERVER_BASE = os.environ.get("BENCH_SCALE_SERVER", "postgres://postgres@127.0.0.1:5432/")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
SIZES = (10_000_000, 30_000_000)
BASE_WEEKS = 8  # at 10M clicks, as fill_scale_data's default
TARGET = 0.20
SECTIONS = ("consumer", "reports", "retention")


def database_name(clicks: int) -> str:
    if clicks % 1_000_000 == 0:
        return f"trackly_scale{clicks // 1_000_000}"
    return f"trackly_scale_{clicks}"


def database_url(clicks: int) -> str:
    return urlsplit(SERVER_BASE)._replace(path=f"/{database_name(clicks)}").geturl()


def requested(clicks: int, seed: int) -> dict[str, int]:
    return {
        "messages": max(3, clicks // 10),
        "clicks": clicks,
        "conversions": clicks // 100,
        # At least 6: retention cannot go below the fill's 30-day click windows.
        "weeks": max(6, round(BASE_WEEKS * clicks / 10_000_000)),
        "seed": seed,
    }


def results_path(clicks: int) -> Path:
    return ROOT / "var" / f"scale-{database_name(clicks)}.json"


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="raw clicks, a,b")
    parser.add_argument("--stream", type=int, default=100_000, help="clicks for the consumer")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per URL")
    parser.add_argument(
        "--warmup", type=int, default=2, help="untimed requests per URL, every URL before any timed"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--refill", action="store_true", help="fill again even if filled")
    parser.add_argument("--table", action="store_true", help="only print the saved results")
    parser.add_argument("--fill-only", action="store_true", help="fill (if needed), no figures")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help="of consumer,reports,retention"
    )
    parser.add_argument(
        "--clicks-on",
        choices=("recent", "all"),
        default="recent",
        help="the consumer's clicks on links of the last 8 weeks' messages (the same traffic"
        " at every size), or on any link of the whole history",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a size, in this process
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.one is not None:
        measure(args.one, args)
        return
    if not args.table:
        for clicks in sizes:
            filled(clicks, args)
        if args.fill_only:
            return
        for clicks in sizes:  # each in a process of its own: Django set up on its database
            options = ["--stream", str(args.stream), "--requests", str(args.requests),
                       "--warmup", str(args.warmup), "--seed", str(args.seed),
                       "--sections", args.sections, "--clicks-on", args.clicks_on]  # fmt: skip
            subprocess.run(
                [sys.executable, __file__, "--one", str(clicks), *options], cwd=ROOT, check=True
            )
    table(sizes)


# -- the fill, once ------------------------------------------------------------------------


def state_path(clicks: int) -> Path:
    return ROOT / "var" / f"bench-{database_name(clicks)}.json"


def filled(clicks: int, args: argparse.Namespace) -> dict:
    """The fill's summary: the one saved when the database still holds that fill (this
    script's runs add --stream clicks and take a day each: not an exact count), else a new
    fill."""
    wanted, path, url = requested(clicks, args.seed), state_path(clicks), database_url(clicks)
    if not args.refill and path.exists():
        state = json.loads(path.read_text())
        try:
            with psycopg.connect(url) as conn:
                rows = conn.execute("SELECT count(*) FROM links_messageshortlinkclick").fetchone()
        except psycopg.Error as exc:
            rows = None
            print(f"{url}: cannot reuse it ({str(exc).strip()})")
        if state["requested"] == wanted and rows and rows[0] >= 0.8 * clicks:
            print(f"reusing {url} ({rows[0]:,} raw clicks; filled in "
                  f"{state['summary']['elapsed_seconds']} s)")  # fmt: skip
            return state["summary"]
    print(f"filling {url}: {wanted} (nice -n 19)")
    harness.DATABASE_URL = url
    harness.ENV["DATABASE_URL"] = url
    path.unlink(missing_ok=True)
    harness.recreate_database()
    harness.manage("migrate", "--no-input", "-v", "0")
    started = time.perf_counter()
    done = subprocess.run(
        ["nice", "-n", "19", sys.executable, "manage.py", "fill_scale_data",
         *(f"--{k}={v}" for k, v in wanted.items())],
        cwd=ROOT, env=harness.ENV, check=True, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    summary = json.loads(done.stdout)
    print(f"filled in {time.perf_counter() - started:.0f} s: {summary['counts']}")
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"requested": wanted, "summary": summary}, indent=2))
    # The first build of the rollups covers every day: part of the fill, niced too. The
    # fill analyzes what it loaded, not the rollups' stale markers its triggers wrote:
    # without their statistics each build step's next-messages query scanned millions of
    # markers (2026-12-03, 10M: some 8 s a step of 5,000 messages).
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
    started = time.perf_counter()
    subprocess.run(["nice", "-n", "19", sys.executable, "manage.py", "build_rollups"],
                   cwd=ROOT, env=harness.ENV, check=True, stdout=subprocess.DEVNULL)  # fmt: skip
    print(f"build_rollups after the fill: {time.perf_counter() - started:.0f} s (nice -n 19)")
    return summary


# -- one size, in its own process ----------------------------------------------------------


def measure(clicks: int, args: argparse.Namespace) -> None:
    url = database_url(clicks)
    harness.DATABASE_URL = url
    harness.REDIS_URL = REDIS_URL
    harness.ENV.update({"DATABASE_URL": url, "REDIS_URL": REDIS_URL})
    harness.django_setup()
    summary = json.loads(state_path(clicks).read_text())["summary"]
    print(f"\n== {clicks:,} raw clicks: {url}")
    out: dict = {"clicks": clicks, "database": database_name(clicks),
                 "date": dt.datetime.now(dt.UTC).isoformat(timespec="minutes")}  # fmt: skip
    out.update(sizes())  # before this run adds its clicks and deletes its day
    sections = set(args.sections.split(","))
    # The reports and retention need the rollups up to date (retention builds them first).
    rollups = bool(sections & {"reports", "retention"})
    if rollups:
        out["rollups_initial_s"] = timed_rollups()
    if "consumer" in sections:
        out.update(consumer(args.stream, args.seed, recent=args.clicks_on == "recent"))
        out["stale_messages_during_consumer"] = stale_messages()
    if rollups:
        out["rollups_after_stream_s"] = timed_rollups()
    if rollups:
        server = harness.start_server()
        try:
            if "reports" in sections:
                out.update(report_p95(summary, args))
            if "retention" in sections:
                out.update(retention(summary, retention_days(summary)))
        finally:
            harness.stop_server(server)
    path = results_path(clicks)
    saved = json.loads(path.read_text()) if path.exists() and sections != set(SECTIONS) else {}
    path.write_text(json.dumps({**saved, **out}, indent=2))  # a part run adds to the last
    print(json.dumps(out, indent=2))


def stale_messages() -> int:
    """Messages whose rollups are not yet rebuilt (a build running meanwhile is noise)."""
    from reporting.models import DirtyMessage

    return len(DirtyMessage.marked())


def timed_rollups() -> float:
    started = time.perf_counter()
    reports.build_rollups()
    return round(time.perf_counter() - started, 1)


def consumer(count: int, seed: int, *, recent: bool) -> dict:
    """`count` clicks appended as the redirect appends them, then stored by a real consumer.

    `recent`: on links of messages sent in the last BASE_WEEKS weeks, the whole history at
    10M and its last third at 30M, so that both sizes take the same traffic (a day's taps
    fall mostly on recent sends) on more history. Else on any link ever minted, which at
    30M puts two thirds of the taps on messages older than any at 10M."""
    import redis
    from django.conf import settings
    from django.utils import timezone

    from core.models import Account, Message
    from links.models import MessageShortLink

    rng = random.Random(seed)
    top = MessageShortLink.objects.order_by("-pk").values_list("pk", flat=True)[0]
    low = 1
    if recent:
        # The fill makes messages, and their links, in time order: the window's first
        # message (per account, on its (account, sent_at) index) bounds the links' ids.
        since = timezone.now() - dt.timedelta(weeks=BASE_WEEKS)
        firsts = [
            first
            for account_id in Account.objects.values_list("pk", flat=True)
            for first in Message.objects.filter(account_id=account_id, sent_at__gte=since)
            .order_by("sent_at")
            .values_list("pk", flat=True)[:1]
        ]
        if firsts:
            low = (
                MessageShortLink.objects.filter(message_id__gte=min(firsts))
                .order_by("message_id")
                .values_list("pk", flat=True)
                .first()
            ) or low
    print(f"consumer: clicks on links {low:,} to {top:,} ({'recent' if recent else 'all'})")
    picked = rng.sample(range(low, top + 1), min(count, top - low + 1))
    chosen: list[tuple[str, int]] = []
    for start in range(0, len(picked), 10_000):
        chosen += MessageShortLink.objects.filter(
            pk__in=picked[start : start + 10_000]
        ).values_list("link_id", "account_id")
    events = capacity.click_events(chosen, count, seed)
    click_ids = [e.click_id for e in events]
    client = redis.Redis.from_url(REDIS_URL)
    stream = settings.CLICK_STREAM_KEY
    client.delete(stream)
    capacity.stream_append(client, events)
    backlog = client.xlen(stream)  # the consumer deletes each entry once it is stored
    process = harness.consumer_start()
    try:
        # From its first stored batch: the consumer's start-up (Django, the places
        # database) is not what grows with the data.
        while client.xlen(stream) >= backlog and process.poll() is None:
            time.sleep(0.01)
        cpu_first, first, left = cpu_tree(process.pid), time.perf_counter(), client.xlen(stream)
        drained = harness.wait_drained(timeout=1800)
        cpu_last, last = cpu_tree(process.pid), time.perf_counter()
    finally:
        process.terminate()
        process.wait()
    assert drained < 1800, "the consumer did not drain the stream in 30 minutes"
    stored, span = stored_span(click_ids)
    rate = left / (last - first)
    print(f"consumer: {stored:,} of {count:,} stored; {rate:,.0f} rows/s from its first batch; "
          f"{(cpu_last - cpu_first) / left * 1e6:.0f} us CPU a row (consumer)")  # fmt: skip
    return {
        "stream_clicks": count,
        "stored": stored,
        "consumer_rows_per_s": round(rate),
        "consumer_rows_per_s_recorded": round(stored / span) if span else None,
        "consumer_cpu_us_per_row": round((cpu_last - cpu_first) / left * 1e6, 1),
    }


def cpu_tree(pid: int) -> float:
    """CPU seconds of a process and its children (the consumer: manage.py, one process)."""
    total = 0.0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(entry.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / harness.TICK
    return total


def stored_span(click_ids: list[str]) -> tuple[int, float]:
    """How many of these clicks are stored, and the seconds from the first stored to the last."""
    from django.db.models import Count, Max, Min

    from links.models import MessageShortLinkClick

    stored, first, last = 0, None, None
    for start in range(0, len(click_ids), 5000):
        got = MessageShortLinkClick.objects.filter(
            click_id__in=click_ids[start : start + 5000]
        ).aggregate(n=Count("pk"), first=Min("recorded_at"), last=Max("recorded_at"))
        stored += got["n"]
        if got["n"]:
            first = min(first or got["first"], got["first"])
            last = max(last or got["last"], got["last"])
    return stored, (last - first).total_seconds() if stored else 0.0


def report_p95(summary: dict, args: argparse.Namespace) -> dict:
    """reports.py's API probes (every dimension, all time and the last 7 days), timed."""
    account = summary["accounts"][0]
    end = dt.datetime.fromisoformat(summary["period"]["end"])
    local_end = end.astimezone(zoneinfo.ZoneInfo(account["time_zone"])).date()
    week = urlencode({"start": (local_end - dt.timedelta(days=6)).isoformat(),
                      "end": local_end.isoformat()})  # fmt: skip
    probes = [reports.Probe(f"/api/v1/reports/{d}{q}", True)
              for d in reports.DIMENSIONS for q in ("", f"?{week}")]  # fmt: skip
    reports.BASE = f"http://localhost:{harness.PORT}"
    api = urllib.request.build_opener(harness.NoRedirect)
    api.addheaders = [("Authorization", f"Bearer {account['api_key']}")]
    # Every URL warmed before any is timed: the server's workers each answer their first
    # report request cold (imports, URL resolving), and warming each URL just before its
    # own timed requests left one worker cold for the first URL's (2026-12-04: campaigns,
    # the first, had p95 outliers of 32-37 ms against 12-19 ms in the other runs).
    for _ in range(args.warmup):
        for probe in probes:
            status, _, _, _ = reports.request(api, probe.path)
            assert status == 200, f"{probe.path}: {status}"
    for probe in probes:
        for _ in range(args.requests):
            status, _, total, _ = reports.request(api, probe.path)
            assert status == 200, f"{probe.path}: {status}"
            probe.totals.append(total)
    every = [t for p in probes for t in p.totals]
    per_url = {p.path: round(reports.percentile(p.totals, 95), 1) for p in probes}
    for path, p95 in per_url.items():
        print(f"  {path}: p95 {p95} ms")
    return {
        "report_p95_ms": round(reports.percentile(every, 95), 1),
        "report_p50_ms": round(statistics.median(every), 1),
        "report_worst_url_p95_ms": max(per_url.values()),
        "report_p95_by_url": per_url,
    }


def retention_days(summary: dict) -> dict[int, tuple[int, bool, int]]:
    """For each account: the data_retention_days that puts exactly one more whole local
    day past retention, whether the oldest day is a partial one (the fill's first), and
    its default click window."""
    from django.db.models import Min

    from core.models import Account
    from links.models import MessageShortLinkClick

    start = dt.datetime.fromisoformat(summary["period"]["start"])
    now = dt.datetime.now(dt.UTC)
    out = {}
    for account in Account.objects.order_by("pk"):
        tz = zoneinfo.ZoneInfo(account.time_zone or "UTC")
        oldest = MessageShortLinkClick.objects.filter(account_id=account.pk).aggregate(
            t=Min("clicked_at")
        )["t"]
        if oldest is None:
            continue
        day = oldest.astimezone(tz).date()
        first_day = start.astimezone(tz)
        partial = day == first_day.date() and first_day.time() != dt.time()
        # retention_cutoff: the first kept day is today (local) minus the days.
        n = (now.astimezone(tz).date() - (day + dt.timedelta(days=1))).days
        out[account.pk] = (n, partial, account.default_click_window_days)
    return out


def retention(summary: dict, days: dict[int, tuple[int, bool, int]]) -> dict:
    """Set each account's retention through the API, run apply_retention, timed."""
    from links.models import MessageShortLinkClick

    keys = {a["account_id"]: a["api_key"] for a in summary["accounts"]}

    def set_days(shift: int) -> None:
        for account_id, (n, _, window) in days.items():
            # The fill's default click window (90 days) is longer than a small fill's
            # period, and retention never goes inside a click window: narrowed as needed.
            body = {
                "data_retention_days": n - shift,
                "default_click_window_days": min(window, n - shift),
            }
            harness.api(keys[account_id], "PATCH", "account", body)

    def apply() -> tuple[float, list[dict]]:
        started = time.perf_counter()
        out = harness.manage("apply_retention")
        return time.perf_counter() - started, [json.loads(line) for line in out.splitlines()]

    if any(partial for _, partial, _ in days.values()):
        set_days(0)  # the partial first day goes first, untimed
        took, _ = apply()
        print(f"retention: the fill's partial first day removed first ({took:.1f} s, untimed)")
        set_days(1)
    else:
        set_days(0)
    before = MessageShortLinkClick.objects.count()
    took, tables = apply()
    deleted = {t["table"]: t["rows_deleted"] for t in tables}
    raw = deleted.get(MessageShortLinkClick._meta.db_table, 0)
    print(f"apply_retention: {took:.1f} s for one day: {deleted} (raw clicks before: {before:,})")
    return {
        "retention_s": round(took, 2),
        "retention_raw_clicks_deleted": raw,
        "retention_rows_deleted": deleted,
        "retention_raw_clicks_per_s": round(raw / took) if took else None,
    }


def sizes() -> dict:
    """The database's size, and the raw click table's (over its partitions, if any)."""
    from django.db import connection

    from links.models import MessageShortLinkClick

    table = MessageShortLinkClick._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_database_size(current_database()),"
            " COALESCE(sum(pg_table_size(relid)), 0)::bigint,"
            " COALESCE(sum(pg_indexes_size(relid)), 0)::bigint"
            " FROM (SELECT relid FROM pg_partition_tree(%s::regclass) WHERE isleaf"
            # pg_partition_tree() has no rows for a table that is not partitioned.
            " UNION SELECT oid FROM pg_class WHERE oid = %s::regclass AND relkind = 'r') AS t",
            [table, table],
        )
        database, data, indexes = cursor.fetchone()
    rows = MessageShortLinkClick.objects.count()
    print(f"database {database / 1e9:.2f} GB; {table}: {rows:,} rows, data {data / 1e9:.2f} GB,"
          f" indexes {indexes / 1e9:.2f} GB")  # fmt: skip
    return {
        "database_bytes": database,
        "raw_clicks": rows,
        "raw_table_bytes": data,
        "raw_index_bytes": indexes,
        "raw_table_bytes_per_million": round(data / rows * 1e6) if rows else None,
        "raw_index_bytes_per_million": round(indexes / rows * 1e6) if rows else None,
    }


# -- the table -----------------------------------------------------------------------------

ROWS = [
    ("consumer rows/s (from its first batch)", "consumer_rows_per_s", "{:,.0f}", True),
    ("consumer rows/s (recorded_at span)", "consumer_rows_per_s_recorded", "{:,.0f}", False),
    ("consumer CPU us/row", "consumer_cpu_us_per_row", "{:.1f}", False),
    ("report API p95 ms (all URLs' requests)", "report_p95_ms", "{:.1f}", True),
    ("report API worst URL's p95 ms", "report_worst_url_p95_ms", "{:.1f}", False),
    ("apply_retention s, one day", "retention_s", "{:.1f}", True),
    ("  raw clicks deleted", "retention_raw_clicks_deleted", "{:,.0f}", False),
    # The fill's days do not all hold as many rows: this compares the work, not the day.
    ("  raw clicks deleted a second", "retention_raw_clicks_per_s", "{:,.0f}", False),
    ("build_rollups s after the stream", "rollups_after_stream_s", "{:.1f}", False),
    ("raw clicks now", "raw_clicks", "{:,.0f}", False),
    ("database GB", "database_bytes", "{:.2f}", False),
    ("raw click data, bytes per 1M rows", "raw_table_bytes_per_million", "{:,.0f}", False),
    ("raw click indexes, bytes per 1M rows", "raw_index_bytes_per_million", "{:,.0f}", False),
]


def table(sizes_: list[int]) -> None:
    results = [json.loads(results_path(c).read_text()) for c in sizes_ if results_path(c).exists()]
    if not results:
        sys.exit("no results saved yet")
    head = " | ".join(f"{r['clicks'] / 1e6:g}M ({r['date']})" for r in results)
    ratios = " | ".join(f"{r['clicks'] / 1e6:g}M/{results[0]['clicks'] / 1e6:g}M"
                        for r in results[1:])  # fmt: skip
    print(f"\n| figure | {head} | {ratios} |")
    print("|---|" + "---|" * (2 * len(results) - 1))
    misses = []
    for label, key, fmt, judged in ROWS:
        values = [r.get(key) for r in results]
        if key == "database_bytes":
            values = [v / 1e9 if v else v for v in values]
        cells = [fmt.format(v) if v is not None else "-" for v in values]
        ratio_cells = []
        for v in values[1:]:
            ratio = v / values[0] if v and values[0] else None
            ratio_cells.append(f"{ratio:.2f}" if ratio is not None else "-")
            if judged and ratio is not None and abs(ratio - 1) > TARGET:
                misses.append(label)
        print(f"| {label} | {' | '.join(cells)} | {' | '.join(ratio_cells)} |")
    if len(results) > 1:
        print(f"\nwithin {TARGET:.0%}: " + ("every judged figure" if not misses
              else "NOT " + ", ".join(misses)))  # fmt: skip


if __name__ == "__main__":
    main()
