"""The event log (an outbox): each thing Trackly tells the outside world, written in the
transaction that made it happen, so none is lost and none is told of a change that rolled
back. `core.events` writes and reads it; the webhooks app delivers it."""

from __future__ import annotations

from django.db import models
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from core.models.accounts import Account
from core.models.webhooks import WebhookEndpoint


class Event(models.Model):
    """One event. `sequence` is set after commit, in commit order (core.events.events_sequence):
    a reader that has seen sequence N has seen every event numbered below it."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=64)
    data = models.JSONField()
    occurred_at = models.DateTimeField(default=timezone.now)
    # Unique with created_at (event_unique_sequence: the table is partitioned by created_at
    # on PostgreSQL); the sequencer's advisory lock hands each number out once.
    sequence = models.BigIntegerField(null=True, blank=True, editable=False)
    # Set for an event meant for one endpoint whatever it subscribed to (automation.fired).
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "core_event"
        constraints = [
            # Also the index of the readers' `sequence > cursor` and the sequencer's MAX.
            models.UniqueConstraint(fields=["sequence", "created_at"], name="event_unique_sequence")
        ]
        indexes = [
            models.Index(fields=["account", "sequence"], name="event_account_sequence"),
            # The sequencer's queue: events not numbered yet.
            models.Index(
                fields=["id"], condition=models.Q(sequence__isnull=True), name="event_unsequenced"
            ),
            models.Index(fields=["created_at"], name="event_created"),
            # An erasure's search for the events naming a contact (core.erasure): the
            # expression its filter on data -> contact -> id compiles to, per account.
            models.Index(
                "account",
                KeyTransform("id", KeyTransform("contact", "data")),
                name="event_account_contact",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence or '-'}"


class EventCursor(models.Model):
    """How far one consumer of the log (webhook fan-out, audiences, automations) has read."""

    name = models.CharField(max_length=64, unique=True)
    sequence = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "core_eventcursor"

    def __str__(self) -> str:
        return f"{self.name} @ {self.sequence}"
