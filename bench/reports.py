"""Reports at scale: p50 and p95 of every report endpoint and dashboard page.

Fills a PostgreSQL database with `manage.py fill_scale_data` (1M messages, 10M raw clicks,
100k conversions by default), or reuses it when it already holds data of that size,
brings the rollups up to date with `manage.py build_rollups`, starts the production web
server (gunicorn, as bench/redirect.py does), logs in through the login form, then requests
each URL of the largest account one at a time: a warm-up, then N timed requests. URLs:
`/api/v1/reports/<dimension>` for every dimension (plain, last 7 days, CSV) and every
dashboard page (plain, last 7 days, CSV for tables; a busy and a typical message and
contact). Prints p50 and p95 per URL (and the time to the first byte, which differs from
the whole answer for streamed CSV) and flags every p95 over 300 ms.

    make bench-reports                          # the full size: the first fill takes minutes
    .venv/bin/python bench/reports.py --messages 10000 --clicks 100000 --conversions 1000
    .venv/bin/python bench/reports.py --refill  # fill again even though the data is there
    .venv/bin/python bench/reports.py --allow-missing   # skip URLs answering 404 (not built)

The fill's summary (with the logins it made) is kept in var/bench-<database>.json, so a
later run reuses the database instead of filling it again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.cookiejar
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode, urlsplit

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
import redirect as harness  # noqa: E402 - the shared database, manage.py and server helpers

ROOT = Path(__file__).resolve().parent.parent
harness.DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trackly_scale"
)
harness.ENV["DATABASE_URL"] = harness.DATABASE_URL
harness.PORT = int(os.environ.get("BENCH_PORT", "8792"))
# The harness formats its server command with its own port at import: use ours.
harness.SERVER = [
    str(harness.PORT) if a == str(harness.DEFAULT_PORT) else a for a in harness.SERVER
]
# The fill's summary, with the logins it made (var/ is not committed).
STATE = ROOT / "var" / f"bench-{urlsplit(harness.DATABASE_URL).path.lstrip('/')}.json"
BASE = f"http://localhost:{harness.PORT}"
TARGET_MS = 300.0
DIMENSIONS = ("campaigns", "creatives", "offers", "lists", "days", "messages")
# Dashboard tables: (path, the query of each CSV export). A page with several tables names
# the one to export.
TABLE_PAGES = [
    ("campaigns/", ["format=csv"]),
    ("creatives/", ["format=csv"]),
    ("offers/", ["format=csv"]),
    ("lists/", ["format=csv"]),
    ("messages/", ["format=csv"]),
    ("conversions/", ["format=csv"]),
    ("postbacks/", ["format=csv"]),
    ("bots/", ["format=csv&table=reasons", "format=csv&table=flags"]),
]


@dataclass
class Probe:
    path: str
    api: bool  # the API (API key) or a dashboard page (session)
    expect: int = 200
    status: int = 0
    totals: list[float] = field(default_factory=list)  # ms, the whole answer read
    firsts: list[float] = field(default_factory=list)  # ms to the status line and headers
    size: int = 0


def main() -> None:
    sys.stdout.reconfigure(line_buffering=True)  # progress shows as it comes, also in a pipe
    args = parse_args()
    summary = reused(args) or fill(args)
    account = summary["accounts"][0]  # the largest
    build_rollups()
    probes = probes_for(account, summary["period"]["end"])
    server = harness.start_server()
    try:
        session = login(account, allow_missing=args.allow_missing)
        if session is None:
            skipped = [p for p in probes if not p.api]
            probes = [p for p in probes if p.api]
            print(f"note: no login page (404): skipping {len(skipped)} dashboard URLs")
        api = urllib.request.build_opener(harness.NoRedirect)
        api.addheaders = [("Authorization", f"Bearer {account['api_key']}")]
        for probe in probes:
            opener = api if probe.api else session
            for n in range(args.warmup + args.requests):
                status, first, total, size = request(opener, probe.path)
                probe.status, probe.size = status, size
                if status != probe.expect:
                    break
                if n >= args.warmup:
                    probe.firsts.append(first)
                    probe.totals.append(total)
            print(f"  {probe.path}: {probe.status}", file=sys.stderr, flush=True)
    finally:
        harness.stop_server(server)
    report(probes, summary, args)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--clicks", type=int, default=10_000_000)
    parser.add_argument("--conversions", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--refill", action="store_true", help="fill again even if filled")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per URL")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per URL first")
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="skip (with a note) URLs that answer 404, e.g. dashboard pages not built yet",
    )
    return parser.parse_args()


def requested(args: argparse.Namespace) -> dict[str, int]:
    return {k: getattr(args, k) for k in ("messages", "clicks", "conversions", "seed")}


def reused(args: argparse.Namespace) -> dict | None:
    """The earlier fill's summary, when the database still holds exactly that data."""
    if args.refill or not STATE.exists():
        return None
    state = json.loads(STATE.read_text())
    if state["requested"] != requested(args):
        print(f"the database holds {state['requested']}, not {requested(args)}: filling again")
        return None
    summary = state["summary"]
    accounts = [a["account_id"] for a in summary["accounts"]]
    try:
        with psycopg.connect(harness.DATABASE_URL) as conn:
            clicks = conn.execute(
                "SELECT count(*) FROM links_messageshortlinkclick WHERE account_id = ANY(%s)",
                [accounts],
            ).fetchone()[0]
    except psycopg.Error as exc:
        print(f"cannot reuse the database ({str(exc).strip()}): filling again")
        return None
    if clicks != summary["counts"]["raw_clicks"]:
        print(f"the database holds {clicks:,} of the fill's clicks: filling again")
        return None
    print(f"reusing {harness.DATABASE_URL} (filled in {summary['elapsed_seconds']} s)")
    return summary


def fill(args: argparse.Namespace) -> dict:
    print(f"filling {harness.DATABASE_URL}: {requested(args)}")
    STATE.unlink(missing_ok=True)
    harness.recreate_database()
    harness.manage("migrate", "--no-input", "-v", "0")
    options = [f"--{k}={v}" for k, v in requested(args).items()]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "fill_scale_data", *options],
        cwd=ROOT, env=harness.ENV, check=True, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip  # its progress goes to stderr, shown as it comes
    summary = json.loads(done.stdout)
    print(f"filled in {time.perf_counter() - started:.0f} s: {summary['counts']}")
    STATE.parent.mkdir(exist_ok=True)
    STATE.write_text(json.dumps({"requested": requested(args), "summary": summary}, indent=2))
    return summary


def build_rollups() -> None:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "build_rollups"],
        cwd=ROOT, env=harness.ENV, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if "Unknown command" in done.stderr:
        sys.exit(
            "bench/reports.py needs `manage.py build_rollups`, which is not on this branch "
            "yet (the rollups of issue 6): merge it first."
        )
    if done.returncode:
        sys.exit(f"build_rollups failed:\n{done.stderr}")
    print(f"build_rollups: {time.perf_counter() - started:.1f} s {done.stdout.strip()}")


def probes_for(account: dict, period_end: str) -> list[Probe]:
    """Every URL to time, for the largest account: its ids come from the database."""
    a = account["account_id"]
    end = dt.datetime.fromisoformat(period_end).astimezone(zoneinfo.ZoneInfo(account["time_zone"]))
    week = urlencode({"start": (end.date() - dt.timedelta(days=6)).isoformat(),
                      "end": end.date().isoformat()})  # fmt: skip
    with psycopg.connect(harness.DATABASE_URL) as conn:
        typical_message, typical_contact = conn.execute(
            "SELECT message_id, contact_id FROM attribution_conversion "
            "WHERE account_id = %s AND message_click_id IS NOT NULL ORDER BY id LIMIT 1",
            [a],
        ).fetchone()
        busiest_message = conn.execute(
            "SELECT message_id FROM links_messageshortlinkclick WHERE account_id = %s "
            "GROUP BY message_id ORDER BY count(*) DESC LIMIT 1",
            [a],
        ).fetchone()[0]
        busiest_contact = conn.execute(
            "SELECT contact_id FROM trackly_message WHERE account_id = %s "
            "GROUP BY contact_id ORDER BY count(*) DESC LIMIT 1",
            [a],
        ).fetchone()[0]

    probes = []
    for dimension in DIMENSIONS:
        path = f"/api/v1/reports/{dimension}"
        probes += [Probe(path, True), Probe(f"{path}?{week}", True),
                   Probe(f"{path}?format=csv", True)]  # fmt: skip
    board = f"/dashboard/{a}/"
    probes += [Probe("/dashboard/", False, expect=302), Probe(board, False),
               Probe(f"{board}?{week}", False)]  # fmt: skip
    for page, exports in TABLE_PAGES:
        probes += [Probe(f"{board}{page}", False), Probe(f"{board}{page}?{week}", False)]
        probes += [Probe(f"{board}{page}?{export}", False) for export in exports]
    probes += [
        Probe(f"{board}messages/?page=100", False),
        Probe(f"{board}messages/{typical_message}/", False),
        Probe(f"{board}messages/{busiest_message}/", False),
        Probe(f"{board}contacts/{typical_contact}/", False),
        Probe(f"{board}contacts/{busiest_contact}/", False),
    ]
    return probes


def login(account: dict, *, allow_missing: bool) -> urllib.request.OpenerDirector | None:
    """A session, logged in by posting the login form with its CSRF token, as a browser
    does. None when there is no login page and missing pages are allowed."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(jar), harness.NoRedirect
    )
    status, _, _, _ = request(opener, "/accounts/login/")
    if status == 404 and allow_missing:
        return None
    if status != 200:
        sys.exit(f"GET /accounts/login/ answered {status}, not 200 (--allow-missing skips 404s)")
    token = next((c.value for c in jar if c.name == "csrftoken"), None)
    if token is None:
        sys.exit("the login page set no csrftoken cookie")
    form = {"username": account["username"], "password": account["password"],
            "csrfmiddlewaretoken": token}  # fmt: skip
    request_ = urllib.request.Request(
        f"{BASE}/accounts/login/",
        data=urlencode(form).encode(),
        headers={"Referer": f"{BASE}/accounts/login/"},
    )
    with opener.open(request_, timeout=30) as response:
        if response.status != 302 or not any(c.name == "sessionid" for c in jar):
            sys.exit(f"logging in as {account['username']} failed ({response.status})")
    return opener


def request(opener: urllib.request.OpenerDirector, path: str) -> tuple[int, float, float, int]:
    """(status, ms to the headers, ms to the whole body read, body bytes)."""
    started = time.perf_counter()
    try:
        response = opener.open(f"{BASE}{path}", timeout=600)
    except HTTPError as error:
        response = error
    first = time.perf_counter()
    with response:
        size = len(response.read())
    done = time.perf_counter()
    return response.status, (first - started) * 1000, (done - started) * 1000, size


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def report(probes: list[Probe], summary: dict, args: argparse.Namespace) -> None:
    counts = summary["counts"]
    print(
        f"\n{counts['messages']:,} messages, {counts['raw_clicks']:,} raw clicks "
        f"({counts['bot_clicks']:,} bots), {counts['message_clicks']:,} first clicks, "
        f"{counts['conversions']:,} conversions; account {summary['accounts'][0]['account_id']} "
        f"({summary['accounts'][0]['messages']:,} messages)"
    )
    print(f"server: {' '.join(harness.SERVER)}; {args.warmup} warm-up + {args.requests} "
          f"timed requests per URL, one at a time\n")  # fmt: skip
    print(f"{'URL':74} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
          f"{'TTFB p95':>9} {'KB':>8}")  # fmt: skip
    slow, failed, missing = [], [], []
    for probe in probes:
        if probe.status != probe.expect:
            if probe.status == 404 and args.allow_missing:
                missing.append(probe)
                print(f"{probe.path[:74]:74} {probe.status:>6}   skipped: not there (404)")
            else:
                failed.append(probe)
                print(f"{probe.path[:74]:74} {probe.status:>6}   FAILED: expected {probe.expect}")
            continue
        p95 = percentile(probe.totals, 95)
        if p95 > TARGET_MS:
            slow.append(probe)
        print(
            f"{probe.path[:74]:74} {probe.status:>6} {percentile(probe.totals, 50):8.1f} "
            f"{p95:8.1f} {max(probe.totals):8.1f} {percentile(probe.firsts, 95):9.1f} "
            f"{probe.size / 1024:8.1f}{'  SLOW' if p95 > TARGET_MS else ''}"
        )
    timed = len(probes) - len(failed) - len(missing)
    print()
    if missing:
        print(f"skipped {len(missing)} URLs answering 404 (--allow-missing)")
    if slow:
        print(f"p95 over {TARGET_MS:.0f} ms: {len(slow)} of {timed} URLs: "
              + ", ".join(p.path for p in slow))  # fmt: skip
    else:
        print(f"every p95 at most {TARGET_MS:.0f} ms ({timed} URLs)")
    if failed:
        sys.exit(f"{len(failed)} URLs did not answer as expected")


if __name__ == "__main__":
    main()
