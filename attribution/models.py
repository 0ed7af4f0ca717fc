"""Conversions and the log of every postback that reported one."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone

from core.models import Account, Campaign, Contact, Creative, Message, Offer
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick


class PostbackLog(models.Model):
    """Every request to /conv, /conv/offer and the pixel, written before anything else."""

    class Outcome(models.TextChoices):
        RECEIVED = "received", "Received"
        ACCEPTED = "accepted", "Accepted"
        DUPLICATE = "duplicate", "Duplicate"
        PENDING = "pending", "Pending (click not yet stored)"
        REJECTED = "rejected", "Rejected"

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    endpoint = models.CharField(max_length=32)
    method = models.CharField(max_length=8)
    host = models.CharField(max_length=253, blank=True)
    query = models.TextField(blank=True)
    body = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RECEIVED)
    reason = models.TextField(blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "postback log entry"
        verbose_name_plural = "postback log"
        indexes = [
            models.Index(fields=["account", "received_at"], name="postbacklog_account_received"),
            models.Index(fields=["outcome", "received_at"], name="postbacklog_outcome_received"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.outcome} at {self.received_at:%Y-%m-%d %H:%M:%S}"


class Conversion(models.Model):
    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        PENDING = "pending", "Pending (waiting for its click)"

    # The statuses that count as approved: what audiences' `converted` and automations'
    # conversion trigger read (issue 18 adds approval; until then an accepted conversion is
    # approved). The one definition.
    APPROVED_STATUSES: tuple[str, ...] = (Status.ACCEPTED,)

    class AttributionType(models.TextChoices):
        DIRECT = "direct", "Direct (within 30 minutes of the click)"
        CLICK_THROUGH = "click_through", "Click-through"
        VIEW_THROUGH = "view_through", "View-through (received, not clicked)"
        OFFER = "offer", "Offer-level (no contact)"
        NONE = "none", "Unattributed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="conversions")
    txn_id = models.CharField(max_length=200, null=True, blank=True)
    event = models.CharField(max_length=64, default="conversion")
    revenue = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))
    # False when the postback sent no revenue and the offer's default payout applies
    # (known only once a pending conversion's click, and so its offer, is found).
    revenue_reported = models.BooleanField(default=True)
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACCEPTED)
    attribution_type = models.CharField(
        max_length=16, choices=AttributionType.choices, default=AttributionType.NONE
    )
    unattributed_reason = models.CharField(max_length=200, blank=True)
    # What the postback named, as it named it.
    reported_click_id = models.CharField(max_length=32, blank=True)
    reported_link = models.ForeignKey(
        MessageShortLink, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The credit, denormalised so reports need no joins through the click.
    message_click = models.ForeignKey(
        MessageClick, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversions"
    )
    raw_click = models.ForeignKey(
        MessageShortLinkClick, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversions"
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversions"
    )
    offer = models.ForeignKey(
        Offer, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversions"
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    creative = models.ForeignKey(
        Creative, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    postback_log = models.ForeignKey(
        PostbackLog, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # When its conversion.recorded was written (attribution.conversion_events); NULL: not yet.
    announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Networks retry postbacks; two copies arriving together still make one row.
            models.UniqueConstraint(
                fields=["account", "txn_id", "event"],
                condition=models.Q(txn_id__isnull=False),
                name="conversion_unique_account_txn_event",
            )
        ]
        indexes = [
            models.Index(fields=["account", "occurred_at"], name="conversion_account_occurred"),
            models.Index(fields=["contact", "occurred_at"], name="conversion_contact_occurred"),
            models.Index(fields=["status", "received_at"], name="conversion_status_received"),
            models.Index(fields=["reported_click_id"], name="conversion_reported_click"),
            # The announcer's queue: conversions not told of yet.
            models.Index(
                fields=["received_at"],
                condition=models.Q(announced_at__isnull=True),
                name="conversion_unannounced",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.revenue} {self.currency}"


class FraudFlag(models.Model):
    """Something that looks like fraud, with its evidence, for an admin or marketer to see."""

    class Kind(models.TextChoices):
        CLICK_FLOOD = "click_flood", "Click flooding from one IP"
        CLICK_RATE = "click_rate", "Implausible campaign click rate"
        CLICK_INJECTION = "click_injection", "Conversion too soon after its click"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="fraud_flags")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # One flag per incident: re-running a check updates the evidence instead of repeating it.
    key = models.CharField(max_length=200)
    evidence = models.JSONField(default=dict)
    ip = models.GenericIPAddressField(null=True, blank=True)
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    conversion = models.ForeignKey(
        Conversion, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    raw_click = models.ForeignKey(
        MessageShortLinkClick, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind", "key"], name="fraudflag_unique_incident"
            )
        ]
        indexes = [models.Index(fields=["account", "created_at"], name="fraudflag_account_created")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.key}"
