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
        UPDATED = "updated", "Updated a stored conversion"
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

    class Approval(models.TextChoices):
        """What the network decided about it; independent of `status` (accepted, or
        waiting for its click). Reports count approved ones in their conversions, revenue
        and payout, pending ones apart, rejected and reversed ones nowhere."""

        APPROVED = "approved", "Approved"
        PENDING = "pending", "Pending approval"
        REJECTED = "rejected", "Rejected"
        REVERSED = "reversed", "Reversed"

    class AttributionType(models.TextChoices):
        DIRECT = "direct", "Direct (within 30 minutes of the click)"
        CLICK_THROUGH = "click_through", "Click-through"
        VIEW_THROUGH = "view_through", "View-through (received, not clicked)"
        OFFER = "offer", "Offer-level (no contact)"
        NONE = "none", "Unattributed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="conversions")
    txn_id = models.CharField(max_length=200, null=True, blank=True)
    event = models.CharField(max_length=64, default="conversion")
    # The sale's value (what the advertiser took) and what the marketer earns for it. A
    # postback that sends one of them gets the other equal to it.
    revenue = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))
    payout = models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("0"))
    # False when the postback sent neither revenue nor payout and the offer's default payout
    # applies to both (known only once a pending conversion's click, and so its offer, is
    # found).
    revenue_reported = models.BooleanField(default=True)
    approval = models.CharField(
        max_length=16, choices=Approval.choices, default=Approval.APPROVED,
        db_default=Approval.APPROVED.value,
    )  # fmt: skip
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
    # No database foreign key into raw clicks (links.models.MessageClick.raw_click): the
    # conversion stays when retention prunes its click; the credited click's public id is
    # kept on `message_click` (MessageClick.click_id). DO_NOTHING: an account's deletion
    # takes its conversions through `account`.
    raw_click = models.ForeignKey(
        MessageShortLinkClick,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
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
    # No database foreign key: the postback log is partitioned by time (its keys include
    # received_at) and pruned by retention while this row stays (retention clears the column).
    postback_log = models.ForeignKey(
        PostbackLog,
        on_delete=models.SET_NULL,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
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

    @property
    def is_approved(self) -> bool:
        """What audiences' `converted`, automations' conversion trigger and the lift read:
        accepted (not waiting for its click) and approved. The one definition, with
        `approved_q` and `approved_values`."""
        return self.approved_values(self.status, self.approval)

    @classmethod
    def approved_values(cls, status: str | None, approval: str | None) -> bool:
        """`is_approved` from the two values (an event's payload: no approval, as before
        issue 18, is approved)."""
        return status == cls.Status.ACCEPTED and (approval or cls.Approval.APPROVED) == (
            cls.Approval.APPROVED
        )

    @classmethod
    def approved_q(cls, prefix: str = "") -> models.Q:
        """`is_approved` as a filter (`prefix`: the relation's path, e.g. "conversion__")."""
        return models.Q(
            **{f"{prefix}status": cls.Status.ACCEPTED, f"{prefix}approval": cls.Approval.APPROVED}
        )


class ConversionAdjustment(models.Model):
    """One change to a conversion's approval or amounts, kept for ever: what it was, what it
    became, who or what changed it (attribution.adjustments writes every one)."""

    class Source(models.TextChoices):
        POSTBACK = "postback", "Postback"
        API = "api", "API or dashboard"
        IMPORT = "import", "CSV import"
        RECONCILIATION = "reconciliation", "Reconciliation"

    conversion = models.ForeignKey(Conversion, on_delete=models.CASCADE, related_name="adjustments")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=16, choices=Source.choices)
    reason = models.CharField(max_length=500, blank=True)
    # Who: "key <prefix>", "user <name>", or empty for a network's postback or an import.
    actor = models.CharField(max_length=200, blank=True)
    approval_before = models.CharField(max_length=16, choices=Conversion.Approval.choices)
    approval_after = models.CharField(max_length=16, choices=Conversion.Approval.choices)
    revenue_before = models.DecimalField(max_digits=14, decimal_places=4)
    revenue_after = models.DecimalField(max_digits=14, decimal_places=4)
    payout_before = models.DecimalField(max_digits=14, decimal_places=4)
    payout_after = models.DecimalField(max_digits=14, decimal_places=4)
    # No database foreign key: the postback log is partitioned by time (its keys include
    # received_at) and pruned by retention while this row stays (retention clears the column).
    postback_log = models.ForeignKey(
        PostbackLog,
        on_delete=models.SET_NULL,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    conversion_import = models.ForeignKey(
        "ConversionImport", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reconciliation = models.ForeignKey(
        "Reconciliation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["conversion", "created_at"], name="adjustment_conversion"),
            models.Index(fields=["account", "created_at"], name="adjustment_account_created"),
        ]

    def __str__(self) -> str:
        return f"conversion {self.conversion_id} by {self.source} at {self.created_at:%Y-%m-%d}"

    @property
    def revenue_change(self) -> Decimal:
        return self.revenue_after - self.revenue_before

    @property
    def payout_change(self) -> Decimal:
        return self.payout_after - self.payout_before


class ConversionImport(models.Model):
    """One CSV of conversions (POST /api/v1/conversions/import), run by a task; a dry run
    only counts what it would do."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    dry_run = models.BooleanField(default=False)
    actor = models.CharField(max_length=200, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    # The file as sent (UTF-8), kept until it has run; emptied once done.
    body = models.TextField(blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    created = models.PositiveIntegerField(null=True, blank=True)
    updated = models.PositiveIntegerField(null=True, blank=True)
    unchanged = models.PositiveIntegerField(null=True, blank=True)
    # [{"row": n, "reason": "..."}], row 1 the first line after the header.
    rejected = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "created_at"], name="import_account_created")]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.status})"


class Reconciliation(models.Model):
    """A network's conversion report compared with Trackly's conversions of some offers
    over a span of days (POST /api/v1/reconciliations); its rows in ReconciliationRow."""

    class Preset(models.TextChoices):
        GENERIC = "generic", "Generic (the import's columns)"
        TUNE = "tune", "TUNE conversion report"
        EVERFLOW = "everflow", "Everflow conversion export"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    preset = models.CharField(max_length=16, choices=Preset.choices)
    columns = models.JSONField(default=dict, blank=True)  # the column map used
    offers = models.JSONField(default=list)  # offer ids
    start = models.DateField()
    end = models.DateField()
    actor = models.CharField(max_length=200, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    # Per bucket: {"count", "total": {"revenue", "payout"}}, as the API shows them.
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    restated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "created_at"], name="reconciliation_account")]

    def __str__(self) -> str:
        return f"reconciliation {self.pk} ({self.preset}, {self.start} to {self.end})"


class ReconciliationRow(models.Model):
    """One network row or one Trackly conversion, in the bucket it fell in."""

    class Bucket(models.TextChoices):
        MATCHED = "matched", "Matched"
        AMOUNT_DIFFERS = "amount_differs", "Amount differs"
        STATUS_DIFFERS = "status_differs", "Status differs"
        MISSING_IN_TRACKLY = "missing_in_trackly", "Missing in Trackly"
        MISSING_AT_NETWORK = "missing_at_network", "Missing at the network"

    reconciliation = models.ForeignKey(
        Reconciliation, on_delete=models.CASCADE, related_name="rows"
    )
    bucket = models.CharField(max_length=24, choices=Bucket.choices)
    line = models.PositiveIntegerField(null=True, blank=True)  # in the file; None: Trackly's
    txn_id = models.CharField(max_length=200, blank=True)
    click_id = models.CharField(max_length=32, blank=True)
    offer = models.ForeignKey(
        Offer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    conversion = models.ForeignKey(
        Conversion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    occurred_at = models.DateTimeField(null=True, blank=True)
    network_revenue = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    network_payout = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    network_approval = models.CharField(max_length=16, blank=True)
    network_status = models.CharField(max_length=64, blank=True)  # as the network wrote it
    trackly_revenue = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    trackly_payout = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    trackly_approval = models.CharField(max_length=16, blank=True)
    restated = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["reconciliation", "bucket", "id"], name="reconrow_bucket")]

    def __str__(self) -> str:
        return f"{self.bucket}: {self.txn_id or self.click_id or self.conversion_id}"


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
    # No database foreign key into raw clicks (links.models.MessageClick.raw_click): a flag
    # stays when retention prunes its click (its evidence says what it saw). DO_NOTHING: an
    # account's deletion takes its flags through `account`.
    raw_click = models.ForeignKey(
        MessageShortLinkClick,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
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
