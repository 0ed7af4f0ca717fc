"""Delivery to a real receiver: signed per Standard Webhooks, retried on the schedule,
Retry-After and 410 honoured, redirects not followed, the address checked at delivery,
timeouts, and workers sharing the queue. Clocks are injected: nothing sleeps on a timer."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
from email.utils import format_datetime
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from core.events import event_body, event_emit
from core.models import Event, WebhookEndpoint
from core.sealing import sealed
from tests.webhooks.receiver import Receiver, endpoint_make, new_secret
from webhooks.delivery import deliveries_send_due, retry_after_seconds
from webhooks.fanout import events_fan_out
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.tasks import webhooks_deliver_task

pytestmark = pytest.mark.django_db


def clicked(account: Any, n: int = 1) -> None:
    for i in range(n):
        event_emit(
            account_id=account.account.pk,
            type="message.clicked",
            data={"contact": {"id": i, "external_id": f"c{i}", "phone": None, "email": None}},
        )
    events_fan_out()


def whole_second() -> dt.datetime:
    """A clock on a whole second, just past now (what was made so far is due)."""
    return timezone.now().replace(microsecond=0) + dt.timedelta(seconds=1)


def later(seconds: float, start: dt.datetime) -> dt.datetime:
    return start + dt.timedelta(seconds=seconds)


def test_a_delivery_is_signed_and_sent_once(owner: Any, receiver: Receiver) -> None:
    endpoint, secret = endpoint_make(owner, receiver.url())
    clicked(owner)
    delivery = WebhookDelivery.objects.get()
    now = timezone.now()
    assert deliveries_send_due(now=now) == 1
    (got,) = receiver.received
    assert got.path == "/hook"
    assert got.msg_id == delivery.msg_id and got.msg_id.startswith("msg_")
    assert got.headers["webhook-timestamp"] == str(int(now.timestamp()))
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == "Trackly-Webhooks/1"
    assert got.verified(secret) == event_body(delivery.event)
    assert json.loads(got.body)["data"]["sequence"] == delivery.event.sequence
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(got.body, got.headers)
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 1
    assert delivery.delivered_at == now and delivery.last_status_code == 200
    (attempt,) = WebhookAttempt.objects.all()
    assert attempt.status_code == 200 and attempt.error == "" and attempt.attempted_at == now
    assert deliveries_send_due(now=later(3600, now)) == 0  # delivered is done
    assert len(receiver.received) == 1


def test_a_success_clears_the_endpoints_failing_since(owner: Any, receiver: Receiver) -> None:
    since = timezone.now() - dt.timedelta(hours=1)
    endpoint, _ = endpoint_make(owner, receiver.url(), failing_since=since)
    clicked(owner)
    deliveries_send_due()
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_the_beat_task_sends_what_is_due(owner: Any, receiver: Receiver) -> None:
    endpoint_make(owner, receiver.url())
    clicked(owner, 3)
    assert webhooks_deliver_task.apply().result == 3
    assert len(receiver.received) == 3


def test_a_rotation_signs_with_both_secrets_during_the_overlap(
    owner: Any, receiver: Receiver
) -> None:
    old, new = new_secret(), new_secret()
    now = whole_second()
    endpoint_make(
        owner,
        receiver.url(),
        secret=new,
        previous_secret_sealed=sealed(old),
        previous_secret_until=later(60, now),
    )
    clicked(owner, 2)
    deliveries_send_due(now=later(5, now), limit=1)
    deliveries_send_due(now=later(61, now), limit=1)
    during, after = receiver.received
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert all(s.startswith("v1,") for s in during.headers["webhook-signature"].split(" "))
    during.verified(old)
    during.verified(new)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    after.verified(new)
    with pytest.raises(WebhookVerificationError):
        after.verified(old)


def test_the_receiver_down_for_a_minute_then_up_gets_every_event_once(
    owner: Any, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOK_RETRY_SCHEDULE = [5, 15, 30, 45, 90, 150]
    _, secret = endpoint_make(owner, receiver.url())
    clicked(owner, 20)
    receiver.stop()
    start = whole_second()
    for second in range(0, 60, 5):  # a worker pass every 5 s of the minute it is down
        deliveries_send_due(now=later(second, start))
    attempts = WebhookAttempt.objects.all()
    assert attempts.count() >= 3 and all("connection failed" in a.error for a in attempts)
    assert not WebhookDelivery.objects.exclude(status="pending").exists()
    receiver.start()  # the same port, up again; its app fails the first three
    receiver.answer(500, times=3)
    # The first delivery's retry after its 500 is at 150 s; every attempt's timestamp
    # stays within the 5 minutes standardwebhooks accepts.
    for second in range(60, 240, 5):
        deliveries_send_due(now=later(second, start))
    deliveries = WebhookDelivery.objects.all()
    assert {d.status for d in deliveries} == {"delivered"}
    accepted = [r for r in receiver.received if r.status == 200]
    assert sorted(r.msg_id for r in accepted) == sorted(d.msg_id for d in deliveries)
    by_sequence: dict[int, set[str]] = {}
    for got in receiver.received:
        body = got.verified(secret)
        by_sequence.setdefault(body["data"]["sequence"], set()).add(got.msg_id)
    assert len(by_sequence) == 20 and all(len(ids) == 1 for ids in by_sequence.values())
    assert len(receiver.received) == 23  # the three refused were sent again, same id


def test_a_410_disables_the_endpoint_and_keeps_its_deliveries_pending(
    owner: Any, receiver: Receiver
) -> None:
    endpoint, _ = endpoint_make(owner, receiver.url())
    clicked(owner, 3)
    receiver.answer(410)
    now = timezone.now()
    deliveries_send_due(now=now)
    assert len(receiver.received) == 1  # the others are not sent once it answered 410
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and endpoint.disabled_reason == "answered 410 Gone"
    assert endpoint.disabled_at == now
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending"}
    assert deliveries_send_due(now=later(86400, now)) == 0
    clicked(owner)  # new events are not fanned out to a disabled endpoint
    assert WebhookDelivery.objects.count() == 3
    receiver.answer(200)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(is_enabled=True)
    deliveries_send_due(now=later(86400, now))
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert len(receiver.received) == 4


@pytest.mark.parametrize("form", ["seconds", "date"])
def test_retry_after_is_honoured(owner: Any, receiver: Receiver, settings: Any, form: str) -> None:
    settings.WEBHOOK_RETRY_SCHEDULE = [1, 2, 3]
    endpoint_make(owner, receiver.url())
    clicked(owner)
    now = whole_second()
    value = "120" if form == "seconds" else _http_date(later(120, now))
    receiver.answer(429, times=1, retry_after=value)
    deliveries_send_due(now=now)
    delivery = WebhookDelivery.objects.get()
    assert delivery.next_attempt_at == later(120, now)
    assert deliveries_send_due(now=later(119, now)) == 0
    assert deliveries_send_due(now=later(120, now)) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and len(receiver.received) == 2


def test_retry_after_is_capped_at_a_day(owner: Any, receiver: Receiver) -> None:
    endpoint_make(owner, receiver.url())
    clicked(owner)
    receiver.answer(503, retry_after="9999999")
    now = timezone.now()
    deliveries_send_due(now=now)
    assert WebhookDelivery.objects.get().next_attempt_at == now + dt.timedelta(hours=24)


def test_retry_after_parsing() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert retry_after_seconds("30", now) == 30
    assert retry_after_seconds("Thu, 01 Jan 2026 00:01:00 GMT", now) == 60
    assert retry_after_seconds("Wed, 31 Dec 2025 00:00:00 GMT", now) == 0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_a_non_2xx_is_retried_on_the_schedule_then_given_up(
    owner: Any, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOK_RETRY_SCHEDULE = [1, 2]
    endpoint, secret = endpoint_make(owner, receiver.url())
    clicked(owner)
    receiver.answer(500)
    t0 = whole_second()
    assert deliveries_send_due(now=t0) == 1
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 1 and delivery.next_attempt_at == later(1, t0)
    assert deliveries_send_due(now=later(0.5, t0)) == 0
    # A late pass: the retries stay counted from the first failure.
    assert deliveries_send_due(now=later(1.5, t0)) == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.next_attempt_at == later(2, t0)
    assert deliveries_send_due(now=later(2, t0)) == 1
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.attempts == 3
    assert delivery.next_attempt_at is None and delivery.last_status_code == 500
    assert "answered 500" in delivery.last_error
    assert deliveries_send_due(now=later(3600, t0)) == 0
    assert [a.status_code for a in WebhookAttempt.objects.order_by("id")] == [500, 500, 500]
    assert len({r.msg_id for r in receiver.received}) == 1 and len(receiver.received) == 3
    stamps = [int(r.headers["webhook-timestamp"]) for r in receiver.received]
    assert stamps == [int(t0.timestamp()) + s for s in (0, 1, 2)]  # each attempt signed anew
    for got in receiver.received:
        got.verified(secret)
    endpoint.refresh_from_db()
    assert endpoint.failing_since == t0 and endpoint.is_enabled


def test_an_endpoint_failing_too_long_is_disabled(
    owner: Any, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOK_DISABLE_AFTER_SECONDS = 3600
    since = timezone.now() - dt.timedelta(hours=2)
    endpoint, _ = endpoint_make(owner, receiver.url(), failing_since=since)
    clicked(owner, 2)
    receiver.answer(500)
    deliveries_send_due()
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled
    utc = since.astimezone(dt.UTC)
    assert endpoint.disabled_reason == f"failing since {utc:%Y-%m-%d %H:%M} UTC"
    assert len(receiver.received) == 1


def test_a_redirect_is_not_followed(owner: Any, receiver: Receiver) -> None:
    endpoint_make(owner, receiver.url())
    clicked(owner)
    receiver.answer(302, location=receiver.url("/elsewhere"))
    deliveries_send_due()
    assert [r.path for r in receiver.received] == ["/hook"]
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending" and delivery.last_status_code == 302
    assert "redirects are not followed" in delivery.last_error


def _loopback_name() -> str:
    name = socket.gethostname()
    try:
        infos = socket.getaddrinfo(name, 443, type=socket.SOCK_STREAM)
    except OSError:
        pytest.skip("this machine's name does not resolve")
    if not all(info[4][0].startswith("127.") or info[4][0] == "::1" for info in infos):
        pytest.skip("this machine's name does not resolve to loopback")
    return name


def test_a_host_resolving_to_loopback_is_refused_at_delivery(
    owner: Any, receiver: Receiver, settings: Any
) -> None:
    name = _loopback_name()
    settings.WEBHOOK_ALLOW_PRIVATE = False
    # https and a name: the URL alone passes the rule; the resolved address does not.
    endpoint_make(owner, f"https://{name}:{receiver.port}/hook")
    clicked(owner)
    deliveries_send_due()
    assert receiver.received == []
    (attempt,) = WebhookAttempt.objects.all()
    assert attempt.status_code is None
    assert "resolves to a non-public address (127." in attempt.error
    assert WebhookDelivery.objects.get().last_error == attempt.error


def test_loopback_is_sent_to_with_webhook_allow_private(
    owner: Any, receiver: Receiver, settings: Any
) -> None:
    endpoint_make(owner, receiver.url(host="localhost"))
    clicked(owner)
    settings.WEBHOOK_ALLOW_PRIVATE = False
    deliveries_send_due()
    assert receiver.received == []
    assert "refused: the URL" in WebhookAttempt.objects.get().error
    settings.WEBHOOK_ALLOW_PRIVATE = True
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    deliveries_send_due()
    assert len(receiver.received) == 1
    assert receiver.received[0].headers["host"] == f"localhost:{receiver.port}"
    assert WebhookDelivery.objects.get().status == "delivered"


def test_a_receiver_that_never_answers_times_out(
    owner: Any, receiver: Receiver, settings: Any
) -> None:
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    endpoint_make(owner, receiver.url())
    clicked(owner, 3)
    receiver.hang.set()
    deliveries_send_due()
    receiver.released.set()
    (attempt,) = WebhookAttempt.objects.all()  # the others wait for its retry
    assert attempt.status_code is None and attempt.error == "timed out after 0.5 s"
    assert 400 <= attempt.latency_ms < 5000
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {0, 1}


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_one_delivery_twice(owner: Any, receiver: Receiver) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite runs one writer at a time")
    endpoint_make(owner, receiver.url())
    clicked(owner, 120)
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    passes: list[int] = []

    def work() -> None:
        try:
            start.wait()
            while claimed := deliveries_send_due(limit=7):
                passes.append(claimed)
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    ids = [r.msg_id for r in receiver.received]
    assert len(ids) == 120 and len(set(ids)) == 120
    assert sum(passes) == 120 and len(passes) >= 18
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {1}


def _http_date(moment: dt.datetime) -> str:
    return format_datetime(moment.astimezone(dt.UTC), usegmt=True)


def test_event_rows_are_untouched_by_delivery(owner: Any, receiver: Receiver) -> None:
    endpoint_make(owner, receiver.url())
    clicked(owner)
    before = list(Event.objects.values())
    deliveries_send_due()
    assert list(Event.objects.values()) == before
