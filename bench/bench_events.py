"""The event log and webhooks under load, on PostgreSQL.

Section "deliveries": a local receiver in a process of its own (a keep-alive HTTP/1.1
server answering 200), BENCH_EVENTS events (5,000) for one endpoint, sent in turn by one
worker process (this one: `webhooks.delivery` passes over one set of keep-alive pools,
each delivery signed, sent, and its outcome and attempt written). Prints deliveries/s
(median of 3 runs; target 500/s) and the p50/p99 of one POST's latency (the product's
sender, timed here to the microsecond: WebhookAttempt.latency_ms is whole milliseconds).

Section "audience": BENCH_BURST (10,000) contacts of a fresh account, one message each
(minted by the mint service, as the bulk API does), half labelled `vip`, 3 audiences
(clicked the campaign; clicked within 7 days; clicked and labelled `vip`), each contact's
link clicked once by a phone from an IP of its own, stored as the click consumer stores a
batch (links.click_writer.clicks_write: the raw click and its MessageClick), unjudged.
Then the clock starts and one process runs, in turn, as the workers would one after
another: the judge (until it has nothing left), the sequencer, the audiences consumer,
repeatedly until every expected member is in AudienceMember. Prints the seconds (median of
3 runs, each a fresh account with fresh clicks; target 10 s) and the split (judge /
sequence / audiences). In-process, not Celery workers: the same service functions the
beat tasks call, without the broker's and beat's second of delay between them.

Section "redirect": bench/redirect.py with BENCH_SUBSCRIBE_ALL=1 (every subscribable event
type subscribed by a webhook endpoint; nothing delivers while wrk runs; after the runs the
judge, sequencer, fan-out and delivery until a local receiver has every event), on a
database of its own (BENCH_DATABASE_URL + `_redirect`); its wrk figures compare with
`make bench-redirect` without the switch, or of an older checkout. Its knobs pass through
(BENCH_BLAST_LINKS, BENCH_PORT, BENCH_REDIS_URL, ...).

    make bench-events                               # every section
    BENCH_SECTIONS=deliveries make bench-events     # one (deliveries, audience, redirect)
    BENCH_SECTIONS=audience BENCH_BURST=1000 make bench-events
    BENCH_DATABASE_URL=postgres://.../db BENCH_EVENTS=20000 make bench-events
"""

from __future__ import annotations

import base64
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import psycopg

if TYPE_CHECKING:
    from core.models import Account

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trackly_bench_events"
)
EVENTS = int(os.environ.get("BENCH_EVENTS", "5000"))
RUNS = 3
TARGET = 500
BURST = int(os.environ.get("BENCH_BURST", "10000"))
BURST_TARGET = 10.0
MOBILE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
)
ENV = {
    **{k: v for k, v in os.environ.items() if k != "REDIS_URL"},
    "DATABASE_URL": DATABASE_URL,
    "LOG_LEVEL": "WARNING",
    "WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver is on loopback
    "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
}


def recreate_database() -> None:
    parts = urlsplit(DATABASE_URL)
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parts.path.lstrip("/")}"')


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=ENV, check=True)


def django_setup() -> None:
    os.environ.update(ENV)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trackly.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# The receiver: its own process, so the worker's timing is not shared with it.


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802 - the readiness probe
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def receive(port: int) -> None:
    ThreadingHTTPServer(("127.0.0.1", port), _Ok).serve_forever()


def receiver_start() -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, __file__, "--receive", str(port)])
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)  # noqa: S310
            break
        except OSError:
            time.sleep(0.05)
    return process, port


# Sections.


def deliveries() -> None:
    """One endpoint, EVENTS events, one worker: deliveries/s and latency."""
    from django.db import connection

    from core.events import NewEvent, events_emit
    from core.models import Account, WebhookEndpoint
    from core.sealing import sealed
    from webhooks.delivery import deliveries_send_due
    from webhooks.fanout import events_fan_out
    from webhooks.models import WebhookAttempt, WebhookDelivery
    from webhooks.sender import Sender

    receiver, port = receiver_start()
    try:
        account = Account.objects.create(name="Bench")
        endpoint = WebhookEndpoint.objects.create(
            account=account,
            url=f"http://127.0.0.1:{port}/hook",
            events=["message.clicked"],
            secret_sealed=sealed("whsec_" + base64.b64encode(os.urandom(32)).decode()),
        )
        data = {
            "contact": {"id": 1, "external_id": "c1", "phone": "+14155550100", "email": None},
            "message": {"id": 1, "external_id": "m1", "channel": "sms", "sent_at": None},
            "link": {"id": "aB3dE5f", "name": "link1", "url": "https://shop.example.com/p/1"},
            "offer": None, "campaign": {"id": 1, "name": "Spring"}, "creative": None,
            "list": None, "click": {"id": "ck_1", "clicked_at": "2026-01-01T00:00:00.000Z"},
        }  # fmt: skip
        events_emit(
            NewEvent(account_id=account.pk, type="message.clicked", data=data)
            for _ in range(EVENTS)
        )
        while events_fan_out():
            pass
        assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == EVENTS

        class TimedSender(Sender):
            """The product's sender, each POST timed to the microsecond."""

            def post(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
                started = time.perf_counter()
                answer = super().post(*args, **kwargs)
                self.latencies.append((time.perf_counter() - started) * 1000)
                return answer

        rates, p50s, p99s = [], [], []
        for run in range(1, RUNS + 1):
            WebhookAttempt.objects.all().delete()
            WebhookDelivery.objects.update(status="pending", attempts=0, delivered_at=None)
            with connection.cursor() as cursor:
                cursor.execute("UPDATE webhooks_webhookdelivery SET next_attempt_at = now()")
                cursor.execute("VACUUM ANALYZE webhooks_webhookdelivery")
            started = time.perf_counter()
            with TimedSender() as sender:
                sender.latencies = []
                while deliveries_send_due(sender=sender):
                    pass
            seconds = time.perf_counter() - started
            delivered = WebhookDelivery.objects.filter(status="delivered").count()
            assert delivered == EVENTS, f"{delivered} of {EVENTS} delivered"
            assert WebhookAttempt.objects.count() == EVENTS
            latencies = sorted(sender.latencies)
            p50 = latencies[len(latencies) // 2]
            p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
            rates.append(EVENTS / seconds)
            p50s.append(p50)
            p99s.append(p99)
            print(f"  run {run}: {EVENTS:,} in {seconds:.2f} s, {EVENTS / seconds:,.0f}/s, "
                  f"latency p50 {p50:.2f} ms, p99 {p99:.2f} ms", flush=True)  # fmt: skip
        rate = statistics.median(rates)
        verdict = "ok" if rate >= TARGET else f"BELOW the {TARGET}/s target"
        p50, p99 = statistics.median(p50s), statistics.median(p99s)
        print(f"deliveries/s (median of {RUNS}): {rate:,.0f} ({verdict}); "
              f"latency p50 {p50:.2f} ms, p99 {p99:.2f} ms")  # fmt: skip
    finally:
        receiver.terminate()
        receiver.wait()


def _burst_setup(run: int) -> tuple[Account, int]:
    """An account with 3 audiences and BURST contacts, one message each, each clicked
    once (stored as the click consumer stores a batch, unjudged). Returns the account
    and how many memberships the audiences should have once the clicks are judged."""
    import datetime as dt

    from django.utils import timezone

    from audiences.models import ContactLabel
    from audiences.services import audience_create
    from core.models import Campaign, Message
    from core.services import account_create
    from links.click_stream import ClickEvent
    from links.click_writer import clicks_stored_send, clicks_write
    from links.ids import new_click_id
    from links.services import messages_mint

    account = account_create(name=f"Burst {run}", domain=f"go{run}.burst.example").account
    spring = Campaign.objects.create(account=account, name="Spring")
    for name, rule in (
        ("Clicked Spring", {"all": [{"clicked": {"campaign": spring.pk}}]}),
        ("Clicked this week", {"all": [{"clicked": {"within_days": 7}}]}),
        ("VIP clickers", {"all": [{"clicked": {}}, {"label": "vip"}]}),
    ):
        audience_create(account=account, name=name, rule=rule)
    now = timezone.now()
    sent_at = (now - dt.timedelta(hours=1)).isoformat()
    link_ids: list[str] = []
    for start in range(0, BURST, 2000):  # the bulk API's requests, as a sender makes them
        items = [
            {"contact": {"external_id": f"r{run}-{i}", "phone": f"+1202{run}{i:06d}"},
             "body": "Deal {{link1}}", "campaign": "Spring", "sent_at": sent_at,
             "links": {"link1": {"url": f"https://shop.example.com/p/{i}?utm=sms"}}}
            for i in range(start, min(BURST, start + 2000))
        ]  # fmt: skip
        link_ids += [m["links"][0]["link_id"] for m in messages_mint(account=account, items=items)]
    # Half are VIPs (set in bulk: no click yet, so the label moves no membership).
    contacts = Message.objects.filter(account=account).values_list("contact_id", flat=True)
    vips = sorted(set(contacts))[::2]
    ContactLabel.objects.bulk_create(
        ContactLabel(account=account, contact_id=c, name="vip") for c in vips
    )
    # One human tap per link, each from an IP of its own, spread over the last minutes.
    events = [
        ClickEvent(
            click_id=new_click_id(at := now - dt.timedelta(seconds=600 * i / BURST)),
            link_id=link_id, account_id=account.pk, clicked_at=at,
            ip=f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
            user_agent=MOBILE_UA, referer="", accept_language="en-US", method="GET",
        )
        for i, link_id in enumerate(link_ids)
    ]  # fmt: skip
    for start in range(0, len(events), 2000):  # CLICK_STREAM_BATCH
        batch = events[start : start + 2000]
        stored, counted = clicks_write(batch)
        assert (stored, counted) == (len(batch), len(batch)), (stored, counted)
        clicks_stored_send([e.click_id for e in batch])
    return account, 2 * BURST + len(vips)


def audience_burst() -> None:
    """Membership current after a burst of BURST counted clicks with 3 audiences."""
    from django.db import connection

    from attribution.bot_checks import clicks_judge_pending
    from audiences.consumer import audiences_consume
    from audiences.models import AudienceMember
    from core.events import events_sequence

    totals, splits = [], []
    for run in range(1, RUNS + 1):
        account, expected = _burst_setup(run)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        members = AudienceMember.objects.filter(audience__account=account)
        split = {"judge": 0.0, "sequence": 0.0, "audiences": 0.0}
        rounds, found = 0, 0
        started = time.perf_counter()
        while found < expected:
            rounds += 1
            # One pass of each worker in turn, as beat sends them (each task's own loop).
            t = time.perf_counter()
            while clicks_judge_pending():
                pass
            split["judge"] += time.perf_counter() - t
            t = time.perf_counter()
            while events_sequence():
                pass
            split["sequence"] += time.perf_counter() - t
            t = time.perf_counter()
            audiences_consume()
            split["audiences"] += time.perf_counter() - t
            found = members.count()
            assert rounds < 50, f"{found:,} of {expected:,} members after {rounds} rounds"
        took = time.perf_counter() - started
        assert found == expected, f"{found:,} members, {expected:,} expected"
        totals.append(took)
        splits.append(split)
        print(f"  run {run}: {BURST:,} clicks -> {found:,} memberships in {took:.2f} s "
              f"({rounds} round{'s' * (rounds > 1)}; judge {split['judge']:.2f} s, "
              f"sequence {split['sequence']:.2f} s, audiences {split['audiences']:.2f} s)",
              flush=True)  # fmt: skip
    took = statistics.median(totals)
    verdict = "ok" if took <= BURST_TARGET else f"ABOVE the {BURST_TARGET} s target"
    parts = {k: statistics.median(s[k] for s in splits) for k in splits[0]}
    print(f"audience membership current after {BURST:,} clicks (median of {RUNS}): "
          f"{took:.2f} s ({verdict}); judge {parts['judge']:.2f} s, "
          f"sequence {parts['sequence']:.2f} s, audiences {parts['audiences']:.2f} s")  # fmt: skip


def redirect_all_events() -> None:
    """bench/redirect.py with BENCH_SUBSCRIBE_ALL=1, on a database of its own (this one's
    name + `_redirect`): its figures, to compare with a run without the switch (or of an
    older checkout), then the delivery of every event the run made."""
    env = {
        **os.environ,
        "BENCH_SUBSCRIBE_ALL": "1",
        "BENCH_DATABASE_URL": f"{DATABASE_URL}_redirect",
        "SECRET_KEY": ENV["SECRET_KEY"],
    }
    process = subprocess.Popen(
        [sys.executable, "bench/redirect.py"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    headline = False
    assert process.stdout is not None
    for line in process.stdout:
        headline = headline or line.startswith(("summary:", "events delivered"))
        print(line if headline else f"  | {line}", end="", flush=True)
    assert process.wait() == 0, f"bench/redirect.py exited with {process.returncode}"


SECTIONS: dict[str, Callable[[], None]] = {
    "deliveries": deliveries,
    "audience membership after a 10,000 counted-click burst": audience_burst,
    "redirect with every event type subscribed": redirect_all_events,
}


def main() -> None:
    wanted = os.environ.get("BENCH_SECTIONS", "")
    chosen = [name for name in SECTIONS if not wanted or name.split()[0] in wanted.split(",")]
    recreate_database()
    manage("migrate", "--no-input", "-v", "0")
    django_setup()
    for name in chosen:
        print(f"== {name}", flush=True)
        SECTIONS[name]()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--receive"]:
        receive(int(sys.argv[2]))
    else:
        main()
