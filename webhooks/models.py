"""Deliveries: one per (event, endpoint), with the webhook-id it keeps on every retry and
replay, and the log of its attempts."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from core.models import Event, WebhookEndpoint


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # No database foreign key: events are partitioned by time (their keys include
    # created_at) and so are deliveries; an event's deletion still takes its deliveries
    # (the ORM's cascade, and retention deletes them with it).
    event = models.ForeignKey(
        Event, on_delete=models.CASCADE, db_constraint=False, related_name="deliveries"
    )
    # webhook-id: msg_ + a ULID, the same on every attempt and replay (unique with
    # created_at: delivery_unique_msg_id).
    msg_id = models.CharField(max_length=40, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The partition key on PostgreSQL. The fan-out and a replay set it to the event's
    # created_at (webhooks.fanout, webhooks.services.webhook_replay): a delivery lives in
    # its event's month, and one delivery per (event, endpoint) stays one key, which must
    # include the time.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # The fan-out may see an event twice (a retried batch), or race a replay: one
            # delivery still (both stamp the event's created_at).
            models.UniqueConstraint(
                fields=["event", "endpoint", "created_at"], name="delivery_unique_event"
            ),
            models.UniqueConstraint(fields=["msg_id", "created_at"], name="delivery_unique_msg_id"),
        ]
        indexes = [
            # The senders' queue: pending deliveries by when they are due.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="delivery_due",
            ),
            models.Index(fields=["endpoint", "created_at"], name="delivery_endpoint_created"),
        ]

    def __str__(self) -> str:
        return self.msg_id

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A delivery made one at a time (admin, tests) has its event's time too, as the
        # fan-out's and a replay's bulk inserts give it (see created_at).
        if self._state.adding and self.event_id is not None:
            self.created_at = self.event.created_at
        super().save(*args, **kwargs)


class WebhookAttempt(models.Model):
    """One try at a delivery: what the receiver answered and how long it took."""

    # No database foreign key: deliveries are partitioned by time (their keys include it).
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, db_constraint=False, related_name="attempt_log"
    )
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["delivery", "attempted_at"], name="attempt_delivery")]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.attempted_at:%Y-%m-%d %H:%M:%S}"
