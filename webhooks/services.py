"""Webhook endpoints' workflows, for the API and the dashboard alike: create, change,
rotate the secret, send a test event, replay the log since a moment, delete. Sending is
the sender's (webhooks.sender): these only write endpoints, events and deliveries.

A secret is made here, sealed at once (core.sealing) and handed back to be shown once; it
is never logged, and a refusal never repeats it."""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from core import bounds, uris
from core.events import SUBSCRIBABLE, event_emit
from core.models import Account, Event, WebhookEndpoint
from core.sealing import sealed
from webhooks.addresses import url_refusal
from webhooks.fanout import new_msg_id
from webhooks.models import WebhookDelivery
from webhooks.selectors import events_kept_since

SECRET_PREFIX = "whsec_"
TEST_NOTE = "A test event from Trackly."
_REPLAY_CHUNK = 1000
_REASON_MAX = WebhookEndpoint._meta.get_field("disabled_reason").max_length


class WebhookRefused(ValueError):
    """An input a webhook workflow refuses: `field` names it, `message` says why (the API
    answers a 400 naming the field, the dashboard a form error)."""

    def __init__(self, field: str, message: str, *, status: int = 400) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.status = status


def secret_new() -> str:
    """A signing secret: whsec_ and the base64 of 32 random bytes (Standard Webhooks)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def webhook_url_check(url: str) -> str:
    """The URL as stored (a URI), or WebhookRefused naming `url`."""
    url = url.strip()
    if not url:
        raise WebhookRefused("url", "This field is required.")
    if uris.has_raw_controls(url):
        raise WebhookRefused("url", "Must not hold spaces or control characters.")
    try:
        url = uris.to_uri(url)
    except ValueError as exc:
        raise WebhookRefused("url", str(exc)) from exc
    if len(url) > bounds.MAX_WEBHOOK_URL_LENGTH:
        raise WebhookRefused(
            "url", f"Must be at most {bounds.MAX_WEBHOOK_URL_LENGTH:,} characters."
        )
    refusal = url_refusal(url)
    if refusal:
        raise WebhookRefused("url", f"The URL {refusal}.")
    return url


def webhook_events_check(events: Iterable[str]) -> list[str]:
    """The event types, each once in the order given, or WebhookRefused naming `events`."""
    chosen: list[str] = []
    for event in events:
        if event not in SUBSCRIBABLE:
            raise WebhookRefused(
                "events",
                f"Unknown event type {event!r}; one of: {', '.join(SUBSCRIBABLE)}.",
            )
        if event not in chosen:
            chosen.append(event)
    if not chosen:
        raise WebhookRefused("events", "Name at least one event type.")
    return chosen


def webhook_description_check(description: str) -> str:
    description = description.strip()
    if len(description) > bounds.MAX_WEBHOOK_DESCRIPTION_LENGTH:
        raise WebhookRefused(
            "description",
            f"Must be at most {bounds.MAX_WEBHOOK_DESCRIPTION_LENGTH:,} characters.",
        )
    return description


def webhook_create(
    *, account: Account, url: str, events: Iterable[str], description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the account and its secret (to show once: only the sealed form is
    kept)."""
    url = webhook_url_check(url)
    chosen = webhook_events_check(events)
    description = webhook_description_check(description)
    secret = secret_new()
    with transaction.atomic():
        # Race: two creates at once could both count MAX - 1 endpoints; the account row's
        # lock makes the second count after the first commits.
        Account.objects.select_for_update().filter(pk=account.pk).first()
        if WebhookEndpoint.objects.filter(account=account).count() >= (
            bounds.MAX_WEBHOOKS_PER_ACCOUNT
        ):
            raise WebhookRefused(
                "non_field_errors",
                f"An account may have at most {bounds.MAX_WEBHOOKS_PER_ACCOUNT} webhook "
                "endpoints; delete one first.",
            )
        endpoint = WebhookEndpoint.objects.create(
            account=account,
            url=url,
            events=chosen,
            description=description,
            secret_sealed=sealed(secret),
        )
    return endpoint, secret


def webhook_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    events: Iterable[str] | None = None,
    description: str | None = None,
    is_enabled: bool | None = None,
    disabled_by: str = "by hand",
    now: dt.datetime | None = None,
) -> WebhookEndpoint:
    """Change what is given (None: unchanged). Enabling a disabled endpoint clears why it
    was disabled and its run of failures; disabling one says `disabled_by` whom."""
    now = now or timezone.now()
    changes: dict[str, object] = {}
    if url is not None:
        changes["url"] = webhook_url_check(url)
    if events is not None:
        changes["events"] = webhook_events_check(events)
    if description is not None:
        changes["description"] = webhook_description_check(description)
    with transaction.atomic():
        # Race: the sender disabling the endpoint (3 days of failures, a 410) while a user
        # changes it: the row's lock orders them, and each sees the other's write.
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        if is_enabled is True and not locked.is_enabled:
            changes.update(
                is_enabled=True, disabled_at=None, disabled_reason="", failing_since=None
            )
        elif is_enabled is False and locked.is_enabled:
            changes.update(
                is_enabled=False,
                disabled_at=now,
                disabled_reason=f"Disabled {disabled_by}."[:_REASON_MAX],
            )
        for name, value in changes.items():
            setattr(locked, name, value)
        if changes:
            locked.save(update_fields=[*changes, "updated_at"])
    return locked


def webhook_secret_rotate(
    *, endpoint: WebhookEndpoint, now: dt.datetime | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new secret (to show once). The one it replaces is still sent alongside for
    WEBHOOK_SECRET_OVERLAP_SECONDS; a secret older than that is dropped, even when its
    overlap had not ended (a second rotation within the overlap)."""
    now = now or timezone.now()
    secret = secret_new()
    with transaction.atomic():
        # Race: two rotations at once would each keep the same previous secret and one new
        # secret would be lost unseen; the row's lock makes the second rotate the first's.
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        locked.previous_secret_sealed = locked.secret_sealed
        locked.previous_secret_until = now + dt.timedelta(
            seconds=settings.WEBHOOK_SECRET_OVERLAP_SECONDS
        )
        locked.secret_sealed = sealed(secret)
        locked.save(
            update_fields=[
                "secret_sealed",
                "previous_secret_sealed",
                "previous_secret_until",
                "updated_at",
            ]
        )
    return locked, secret


def _refuse_disabled(endpoint: WebhookEndpoint, what: str) -> None:
    if not endpoint.is_enabled:
        raise WebhookRefused(
            "non_field_errors",
            f"The endpoint is disabled ({endpoint.disabled_reason or 'no reason given'}): "
            f"enable it before {what}.",
            status=409,
        )


def webhook_test_send(*, endpoint: WebhookEndpoint) -> Event:
    """A webhook.test event for this endpoint only (whatever it subscribed to), delivered by
    the sender like any other; returns the event."""
    _refuse_disabled(endpoint, "sending a test")
    with transaction.atomic():
        # Race: two tests of one endpoint at once; with the row locked, the newest test
        # event of this endpoint is the one this call wrote.
        WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).first()
        event_emit(
            account_id=endpoint.account_id,
            type="webhook.test",
            data={"webhook": {"id": endpoint.pk}, "note": TEST_NOTE},
            endpoint_id=endpoint.pk,
        )
        return Event.objects.filter(endpoint=endpoint, type="webhook.test").latest("id")


@dataclass(frozen=True)
class Replay:
    """What a replay queued: deliveries sent again and deliveries made for events the
    endpoint had none of."""

    reset: int
    created: int

    @property
    def deliveries(self) -> int:
        return self.reset + self.created


def replay_events(endpoint: WebhookEndpoint, since: dt.datetime) -> Q:
    """The events a replay since `since` covers: the account's numbered events logged since
    then that the endpoint subscribes to, or that were meant for it alone."""
    return Q(account_id=endpoint.account_id, sequence__isnull=False, created_at__gte=since) & (
        Q(endpoint_id=endpoint.pk) | Q(endpoint__isnull=True, type__in=list(endpoint.events))
    )


def webhook_replay(
    *, endpoint: WebhookEndpoint, since: dt.datetime, now: dt.datetime | None = None
) -> Replay:
    """Send again every event since `since` (of the log: Event.created_at): each delivery
    of one is back to pending, due now, with its attempts count at 0 (the retry schedule
    starts afresh; the attempt log keeps every earlier try) and the same webhook-id; an
    event the endpoint subscribes to but has no delivery of gets one."""
    now = now or timezone.now()
    _refuse_disabled(endpoint, "replaying")
    if timezone.is_naive(since):
        raise WebhookRefused("since", "Give a time zone (e.g. 2025-01-31T14:00:00Z).")
    if since > now:
        raise WebhookRefused("since", "Must not be in the future.")
    kept = events_kept_since(endpoint.account, now=now)
    if since < kept:
        raise WebhookRefused(
            "since",
            f"The event log goes back to {kept.isoformat(timespec='seconds')} "
            "(its retention); choose a later time.",
        )
    covered = Event.objects.filter(replay_events(endpoint, since))
    if covered.count() > bounds.MAX_REPLAY_EVENTS:
        raise WebhookRefused(
            "since",
            f"A replay covers at most {bounds.MAX_REPLAY_EVENTS:,} events; choose a later time.",
        )
    with transaction.atomic():
        reset = WebhookDelivery.objects.filter(
            endpoint=endpoint, event__in=covered.values("pk")
        ).update(
            status=WebhookDelivery.Status.PENDING,
            attempts=0,
            next_attempt_at=now,
            delivered_at=None,
        )
        missing = covered.filter(
            ~Exists(WebhookDelivery.objects.filter(endpoint=endpoint, event=OuterRef("pk")))
        )
        ids = list(missing.order_by("sequence").values_list("pk", "created_at"))
        for start in range(0, len(ids), _REPLAY_CHUNK):
            rows = [
                # The event's time, as the fan-out gives it (WebhookDelivery.created_at).
                WebhookDelivery(
                    endpoint=endpoint,
                    event_id=pk,
                    msg_id=new_msg_id(),
                    next_attempt_at=now,
                    created_at=created_at,
                )
                for pk, created_at in ids[start : start + _REPLAY_CHUNK]
            ]
            # Race: the fan-out making the same delivery meanwhile (an event it had not
            # reached yet): the (event, endpoint) constraint keeps one, the fan-out's or this.
            WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
        total = WebhookDelivery.objects.filter(
            endpoint=endpoint, event__in=covered.values("pk")
        ).count()
    return Replay(reset=reset, created=total - reset)


def webhook_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint, its deliveries and the events meant for it alone."""
    endpoint.delete()
