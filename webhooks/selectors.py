"""Reads of webhooks shared by the API and the dashboard: an account's endpoints with their
recent failures, an endpoint's delivery log, the events the pull API answers, and how far
back the event log reaches."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils import timezone

from core import bounds
from core.models import Account, Event, WebhookEndpoint
from webhooks.models import WebhookAttempt, WebhookDelivery

# The window of the failure summary shown with each endpoint.
FAILURE_WINDOW = dt.timedelta(hours=24)
# An attempt that did not get a 2xx (no answer at all included).
FAILED_ATTEMPT = Q(status_code__isnull=True) | Q(status_code__lt=200) | Q(status_code__gte=300)
# The pull API leaves out test events: they are sent to one endpoint, to try it.
PULL_EXCLUDED_TYPES = ("webhook.test",)


def webhooks_of(account: Account) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(account=account).order_by("id")


@dataclass(frozen=True)
class FailureSummary:
    """An endpoint's failed attempts in the last FAILURE_WINDOW and the latest of them."""

    count: int = 0
    last_at: dt.datetime | None = None
    last_status_code: int | None = None
    last_error: str = ""


def failure_summaries(
    endpoint_ids: Iterable[int], *, now: dt.datetime | None = None
) -> dict[int, FailureSummary]:
    """Each endpoint's FailureSummary, in two queries whatever the number of endpoints."""
    ids = list(endpoint_ids)
    if not ids:
        return {}
    since = (now or timezone.now()) - FAILURE_WINDOW
    failed = WebhookAttempt.objects.filter(
        FAILED_ATTEMPT, delivery__endpoint_id__in=ids, attempted_at__gte=since
    )
    counts = dict(
        failed.values("delivery__endpoint_id")
        .annotate(n=Count("id"))
        .values_list("delivery__endpoint_id", "n")
    )
    latest: dict[int, WebhookAttempt] = {}
    if counts:
        rows = failed.filter(delivery__endpoint_id__in=list(counts)).order_by(
            "-attempted_at", "-id"
        )
        # At most a few rows per endpoint are read past its latest: the window is a day.
        for attempt in rows.annotate(endpoint_id=F("delivery__endpoint_id")).iterator():
            latest.setdefault(attempt.endpoint_id, attempt)
            if len(latest) == len(counts):
                break
    return {
        pk: FailureSummary(
            count=counts.get(pk, 0),
            last_at=latest[pk].attempted_at if pk in latest else None,
            last_status_code=latest[pk].status_code if pk in latest else None,
            last_error=latest[pk].error if pk in latest else "",
        )
        for pk in ids
    }


def deliveries_of(endpoint: WebhookEndpoint, *, status: str | None = None) -> QuerySet:
    """The endpoint's delivery log, newest first, each with its latest attempts (at most
    MAX_DELIVERY_ATTEMPTS_SHOWN, newest first) and its event."""
    queryset = WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event")
    if status:
        queryset = queryset.filter(status=status)
    attempts = WebhookAttempt.objects.order_by("-attempted_at", "-id")
    return queryset.order_by("-created_at", "-id").prefetch_related(
        Prefetch(
            "attempt_log",
            queryset=attempts[: bounds.MAX_DELIVERY_ATTEMPTS_SHOWN],
            to_attr="recent_attempts",
        )
    )


def events_keep_days(account: Account) -> int:
    """How many days the event log keeps an account's events: EVENTS_KEEP_DAYS, or the
    account's retention if shorter."""
    return min(settings.EVENTS_KEEP_DAYS, account.data_retention_days)


def events_kept_since(account: Account, *, now: dt.datetime | None = None) -> dt.datetime:
    """The oldest moment the account's event log still covers."""
    return (now or timezone.now()) - dt.timedelta(days=events_keep_days(account))


def events_after(account: Account, *, after: int, limit: int) -> list[Event]:
    """The pull API's page: the account's numbered events past `after`, in sequence order
    (test events left out)."""
    return list(
        Event.objects.filter(account=account, sequence__gt=after)
        .exclude(type__in=PULL_EXCLUDED_TYPES)
        .order_by("sequence")[:limit]
    )


def previous_secret_expires_at(
    endpoint: WebhookEndpoint, *, now: dt.datetime | None = None
) -> dt.datetime | None:
    """When the secret before the last rotation stops being sent, while it still is."""
    until = endpoint.previous_secret_until
    if endpoint.previous_secret_sealed and until and (now or timezone.now()) < until:
        return until
    return None
