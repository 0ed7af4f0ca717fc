"""Deliveries: one per (event, endpoint), with the webhook-id it keeps on every retry and
replay, and the log of its attempts."""

from __future__ import annotations

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
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    # webhook-id: msg_ + a ULID, the same on every attempt and replay.
    msg_id = models.CharField(max_length=40, unique=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # The fan-out may see an event twice (a retried batch): one delivery still.
            models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_unique_event")
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


class WebhookAttempt(models.Model):
    """One try at a delivery: what the receiver answered and how long it took."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    attempted_at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["delivery", "attempted_at"], name="attempt_delivery")]

    def __str__(self) -> str:
        return f"{self.delivery_id} @ {self.attempted_at:%Y-%m-%d %H:%M:%S}"
