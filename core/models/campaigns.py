"""How an account labels what it sends: campaigns and their creatives."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from core.models.accounts import Account
from core.models.validation import related_in_same_account


class Campaign(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=200, null=True, blank=True)
    utm_template = models.CharField(
        max_length=500,
        blank=True,
        db_default="",
        help_text="Replaces the account's UTM template for this campaign's links (links.routing).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "trackly_campaign"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="campaign_unique_account_name"
            ),
            models.UniqueConstraint(
                fields=["account", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="campaign_unique_account_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Creative(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="creatives")
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="creatives"
    )
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "trackly_creative"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="creative_unique_account_name"
            ),
            models.UniqueConstraint(
                fields=["account", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="creative_unique_account_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        related_in_same_account(self, "campaign")
