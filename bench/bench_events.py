"""The event log and webhooks under load, on PostgreSQL.

Section "deliveries": a local receiver in a process of its own (a keep-alive HTTP/1.1
server answering 200), BENCH_EVENTS events (5,000) for one endpoint, sent in turn by one
worker process (this one: `webhooks.delivery` passes over one set of keep-alive pools,
each delivery signed, sent, and its outcome and attempt written). Prints deliveries/s
(median of 3 runs; target 500/s) and the p50/p99 of one POST's latency (the product's
sender, timed here to the microsecond: WebhookAttempt.latency_ms is whole milliseconds).

Two more sections have their hooks here (`audience_burst`, `redirect_all_events`); the
lead fills them.

    make bench-events                               # every section
    BENCH_SECTIONS=deliveries make bench-events     # one
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
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trackly_bench_events"
)
EVENTS = int(os.environ.get("BENCH_EVENTS", "5000"))
RUNS = 3
TARGET = 500
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


def audience_burst() -> None:
    """Hook: audience membership current after a 10,000 counted-click burst (the lead's)."""
    print("  not built yet")


def redirect_all_events() -> None:
    """Hook: the redirect benchmark with every event type subscribed (the lead's)."""
    print("  not built yet")


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
