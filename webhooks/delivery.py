"""Delivering due webhooks: claim a batch (several workers share the queue), send each
signed, and apply the outcome rules: a 2xx delivers; anything else is a failed attempt,
retried on WEBHOOK_RETRY_SCHEDULE (counted from the first failure; Retry-After honoured on
429 and 503) until it gives up; a 410 disables the endpoint, and so does failing for
WEBHOOK_DISABLE_AFTER_SECONDS. Every attempt is logged (WebhookAttempt).

A disabled endpoint's deliveries stay pending and are not claimed: enabling it again (or a
replay) sends them. Clocks are injected (`now=`) so that tests never wait for a timer."""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.events import event_body
from core.models import WebhookEndpoint
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.sender import Answer, Sender
from webhooks.signing import body_bytes, signed_headers

CLAIM_BATCH = 200
# A claimed delivery is not due again for this long: the pass that claimed it sends it or
# hands it back before then (it stops sending in time), and if that worker dies the
# delivery is due again when the lease ends (at-least-once; receivers dedupe on webhook-id).
LEASE_SECONDS = 120.0
# Retry-After is honoured up to this far ahead.
RETRY_AFTER_CAP = dt.timedelta(hours=24)
RETRY_AFTER_STATUSES = (429, 503)

Pending = WebhookDelivery.Status.PENDING


def deliveries_claim(*, now: dt.datetime, limit: int = CLAIM_BATCH) -> list[WebhookDelivery]:
    """Due pending deliveries of enabled endpoints, claimed for LEASE_SECONDS: oldest due
    first, with their event and endpoint."""
    with transaction.atomic():
        # Race: several workers claim at once. FOR UPDATE SKIP LOCKED gives each its own
        # rows (a row another claim has locked is skipped, not waited for), and the claim
        # moves next_attempt_at past the lease before it commits, so a claim that starts
        # after that commit no longer sees them as due. No delivery goes to two workers in
        # one round. (SQLite runs one writer at a time.)
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Pending, next_attempt_at__lte=now, endpoint__is_enabled=True)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return []
        lease_end = now + dt.timedelta(seconds=LEASE_SECONDS)
        WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=lease_end)
    claimed = WebhookDelivery.objects.filter(pk__in=ids).select_related("event", "endpoint")
    order = {pk: n for n, pk in enumerate(ids)}
    return sorted(claimed, key=lambda delivery: order[delivery.pk])


def deliveries_send_due(
    *, now: dt.datetime | None = None, limit: int = CLAIM_BATCH, sender: Sender | None = None
) -> int:
    """One pass: claim a batch, send it, record the outcomes. Returns how many it claimed.
    `now` fixes the clock of the whole pass (tests); else each attempt reads the time."""
    clock: Callable[[], dt.datetime] = (lambda: now) if now is not None else timezone.now
    own = sender is None
    sender = sender or Sender()
    try:
        claimed = deliveries_claim(now=clock(), limit=limit)
        if claimed:
            _Pass(sender, clock).run(claimed)
        return len(claimed)
    finally:
        if own:
            sender.close()


def deliveries_send_for(seconds: float, *, limit: int = CLAIM_BATCH) -> int:
    """Passes while there is due work, for at most about `seconds`, over one set of
    keep-alive pools (the deliver task). Returns how many deliveries it handled."""
    deadline = time.monotonic() + seconds
    total = 0
    with Sender() as sender:
        while True:
            claimed = deliveries_send_due(limit=limit, sender=sender)
            total += claimed
            if claimed < limit or time.monotonic() >= deadline:
                return total


def retry_after_seconds(value: str | None, now: dt.datetime) -> float | None:
    """A Retry-After header (seconds or an HTTP date) as seconds from `now`, or None."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - now).total_seconds())


@dataclass
class _EndpointState:
    """What one pass learnt of an endpoint."""

    endpoint: WebhookEndpoint
    secrets: list[str] | None = None
    # The first failure of the run of failures this pass ends with (None: last one ok).
    failing_from: dt.datetime | None = None
    succeeded: bool = False
    # Set when its other deliveries in this pass are not to be sent: until when they wait.
    held_until: dt.datetime | None = None
    disabled_reason: str = ""
    disabled_at: dt.datetime | None = None


@dataclass
class _Pass:
    sender: Sender
    clock: Callable[[], dt.datetime]
    endpoints: dict[int, _EndpointState] = field(default_factory=dict)

    def run(self, claimed: list[WebhookDelivery]) -> None:
        # Stop sending before the lease ends (an attempt takes at most the timeout).
        stop_at = time.monotonic() + LEASE_SECONDS - self.sender.seconds - 5
        attempts = []
        for delivery in claimed:
            state = self.endpoints.setdefault(
                delivery.endpoint_id, _EndpointState(delivery.endpoint)
            )
            at = self.clock()
            if state.held_until is not None or time.monotonic() > stop_at:
                delivery.next_attempt_at = state.held_until or at  # handed back, no attempt
                continue
            answer = self._send(delivery, state, at)
            attempts.append(
                WebhookAttempt(
                    delivery=delivery,
                    attempted_at=at,
                    status_code=answer.status,
                    latency_ms=answer.latency_ms,
                    error=answer.error,
                )
            )
            self._apply(delivery, state, answer, at)
        with transaction.atomic():
            WebhookAttempt.objects.bulk_create(attempts)
            _outcomes_save(claimed)
            for state in self.endpoints.values():
                _endpoint_save(state)

    def _send(self, delivery: WebhookDelivery, state: _EndpointState, at: dt.datetime) -> Answer:
        if state.secrets is None:
            state.secrets = state.endpoint.signing_secrets(at)
        body = body_bytes(event_body(delivery.event))
        headers = signed_headers(state.secrets, delivery.msg_id, at, body)
        return self.sender.post(state.endpoint.pk, state.endpoint.url, headers, body)

    def _apply(
        self, delivery: WebhookDelivery, state: _EndpointState, answer: Answer, at: dt.datetime
    ) -> None:
        first_failure = _run_started(delivery, at) if not answer.ok else None
        delivery.attempts += 1
        delivery.last_status_code = answer.status
        delivery.last_error = answer.error
        if answer.ok:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = at
            delivery.next_attempt_at = None
            state.succeeded, state.failing_from = True, None
            return
        assert first_failure is not None
        delivery.next_attempt_at = _retry_at(delivery.attempts, first_failure, answer, at)
        if delivery.next_attempt_at is None:
            delivery.status = WebhookDelivery.Status.FAILED
        if state.failing_from is None:
            state.failing_from = at
        since = state.endpoint.failing_since
        disable_after = dt.timedelta(seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS)
        if answer.status == 410:
            self._disable(state, at, "answered 410 Gone")
        elif since is not None and at - since >= disable_after:
            utc = since.astimezone(dt.UTC)
            self._disable(state, at, f"failing since {utc:%Y-%m-%d %H:%M} UTC")
        elif not answer.answered:
            # Down (no answer, refused, timed out): its other deliveries in this pass wait
            # for this one's retry rather than each costing a timeout now.
            first_retry = settings.WEBHOOK_RETRY_SCHEDULE[0]
            state.held_until = delivery.next_attempt_at or at + dt.timedelta(seconds=first_retry)

    def _disable(self, state: _EndpointState, at: dt.datetime, reason: str) -> None:
        state.disabled_at, state.disabled_reason = at, reason
        state.held_until = at  # pending, and not claimed while the endpoint is disabled


OUTCOME_FIELDS = (
    "status",
    "attempts",
    "next_attempt_at",
    "last_status_code",
    "last_error",
    "delivered_at",
)


def _outcomes_save(claimed: list[WebhookDelivery]) -> None:
    """The batch's outcomes in one statement (UPDATE ... FROM VALUES on PostgreSQL: the
    ORM's bulk_update builds a CASE per field and row, which costs more than the sends)."""
    if connection.vendor != "postgresql":
        WebhookDelivery.objects.bulk_update(claimed, OUTCOME_FIELDS)
        return
    table = connection.ops.quote_name(WebhookDelivery._meta.db_table)
    row = "(%s::bigint, %s, %s::integer, %s::timestamptz, %s::integer, %s, %s::timestamptz)"
    params = [
        value for d in claimed for value in (d.pk, *(getattr(d, name) for name in OUTCOME_FIELDS))
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS d SET status = v.status, attempts = v.attempts,"  # noqa: S608 - model table
            " next_attempt_at = v.next_attempt_at, last_status_code = v.last_status_code,"
            " last_error = v.last_error, delivered_at = v.delivered_at"
            f" FROM (VALUES {', '.join([row] * len(claimed))})"
            " AS v(id, status, attempts, next_attempt_at, last_status_code, last_error,"
            " delivered_at) WHERE d.id = v.id",
            params,
        )


def _run_started(delivery: WebhookDelivery, at: dt.datetime) -> dt.datetime:
    """When the delivery's current run of failed attempts began: this attempt for a first
    try, else the oldest of its last `attempts` attempts (a replay restarts the count)."""
    if delivery.attempts == 0:
        return at
    start = delivery.attempts - 1
    earlier = (
        WebhookAttempt.objects.filter(delivery=delivery)
        .order_by("-attempted_at", "-id")
        .values_list("attempted_at", flat=True)[start : start + 1]
    )
    return next(iter(earlier), at)


def _retry_at(
    attempts: int, first_failure: dt.datetime, answer: Answer, at: dt.datetime
) -> dt.datetime | None:
    """When the next attempt is due after `attempts` failed ones, or None: give up."""
    schedule = settings.WEBHOOK_RETRY_SCHEDULE
    if attempts > len(schedule):
        return None
    due = first_failure + dt.timedelta(seconds=float(schedule[attempts - 1]))
    if answer.status in RETRY_AFTER_STATUSES:
        wait = retry_after_seconds(answer.retry_after, at)
        if wait is not None:
            due = max(due, at + min(dt.timedelta(seconds=wait), RETRY_AFTER_CAP))
    return due


def _endpoint_save(state: _EndpointState) -> None:
    """The endpoint's health after a pass: failing_since cleared by a last success, set by
    a failure if unset; disabled with its reason."""
    endpoints = WebhookEndpoint.objects.filter(pk=state.endpoint.pk)
    if state.disabled_at is not None:
        # Race: another worker disabling it too: the first reason stays.
        endpoints.filter(is_enabled=True).update(
            is_enabled=False, disabled_at=state.disabled_at, disabled_reason=state.disabled_reason
        )
    if state.failing_from is not None and state.succeeded:
        # It answered in this pass, then stopped: the run of failures began after that.
        endpoints.update(failing_since=state.failing_from)
    elif state.failing_from is not None:
        # Race: another worker's pass failing at once: the first start written stays.
        endpoints.filter(failing_since__isnull=True).update(failing_since=state.failing_from)
    elif state.succeeded and state.endpoint.failing_since is not None:
        # (As loaded at the claim: a failure another worker records meanwhile stays until
        # the next success; that only delays clearing it.)
        endpoints.filter(failing_since__isnull=False).update(failing_since=None)
