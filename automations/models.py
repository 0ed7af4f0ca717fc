"""Automations (a trigger, a delay, an action) and their runs: one per thing that triggered
them, scheduled when the trigger's event is read and fired or skipped at its due time."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from attribution.models import Conversion
from core import bounds
from core.models import Account, Contact, Message


def default_delay_seconds() -> int:
    return settings.AUTOMATION_DEFAULT_DELAY_SECONDS


class Automation(models.Model):
    """When `trigger` happens to a contact, wait `delay_seconds`, check it still holds, then
    do `action` (the languages of both: automations.rules)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    trigger = models.JSONField()
    delay_seconds = models.PositiveIntegerField(
        default=default_delay_seconds,
        validators=[
            MinValueValidator(0),
            MaxValueValidator(bounds.AUTOMATION_MAX_DELAY_SECONDS),
        ],
        help_text="How long after the trigger it acts, so a late bot verdict can stop it.",
    )
    action = models.JSONField()
    is_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="automation_unique_name")
        ]
        indexes = [models.Index(fields=["account", "is_enabled"], name="automation_account")]

    def __str__(self) -> str:
        return self.name


class AutomationRun(models.Model):
    """One firing of an automation for one trigger (a counted click of a (contact, message),
    an audience entry, a conversion), named by `trigger_key`:

    - `click:<contact>:<message>`: once per (automation, contact, message), whatever clicks,
      revokes and moves follow;
    - `entry:<audience>:<contact>:<sequence of the entry event>`: once per entry;
    - `conversion:<conversion id>`: once per conversion.

    A run skipped at its due time (the trigger no longer held) is scheduled again by the
    next event with its key (a counted click that moved to a person's click); a fired one
    never again."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        FIRED = "fired", "Fired"
        SKIPPED = "skipped", "Skipped"

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="runs")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    conversion = models.ForeignKey(
        Conversion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The audience of an entry (audiences.Audience), a plain id rather than a foreign key:
    # an audience deleted before its entry events are read would fail the consumer's insert;
    # a run whose audience is gone is skipped at due time (not a member of it).
    audience_id = models.BigIntegerField(null=True, blank=True)
    trigger_key = models.CharField(max_length=200)
    trigger_event = models.CharField(max_length=64)
    trigger_sequence = models.BigIntegerField()
    due_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    skipped_reason = models.CharField(max_length=200, blank=True)
    fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Race: the same trigger read twice (two consumers, a replayed event, a second
            # message.clicked after a move): one run; inserts are ON CONFLICT DO NOTHING.
            models.UniqueConstraint(
                fields=["automation", "trigger_key"], name="automationrun_unique_trigger"
            )
        ]
        indexes = [
            # The runner's queue: scheduled runs by due time.
            models.Index(
                fields=["due_at"],
                condition=models.Q(status="scheduled"),
                name="automationrun_due",
            ),
            models.Index(fields=["automation", "created_at"], name="automationrun_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.automation_id} {self.trigger_key} {self.status}"
