"""Offers: where a click goes, the interstitial it may see, its postback secret, payout,
revenue cap and click window."""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone

from core.fields import UriField
from core.models.accounts import Account
from core.models.hashing import hash_secret, secret_matches
from core.models.tracking import InterstitialTemplate
from core.models.validation import (
    CLICK_WINDOW_VALIDATORS,
    related_in_same_account,
    validate_not_before_earliest,
)


class Offer(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        EXPIRED = "expired", "Expired"

    class InterstitialMode(models.TextChoices):
        NONE = "none", "None (redirect)"
        LIST_DEFAULT = "list_default", "Sending list's default"
        CUSTOM = "custom", "Custom template"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="offers")
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=200, null=True, blank=True)
    destination_url = UriField(
        max_length=2000,
        help_text="May use the macros {click_id}, {link_id}, {message_id}, {contact_id}, "
        "{offer_id}, {campaign_id}, {creative_id}.",
    )
    click_param = models.CharField(
        max_length=64,
        default="click_id",
        help_text="Query parameter that carries the click id when the URL has no {click_id}.",
    )
    fallback_url = UriField(
        max_length=2000,
        blank=True,
        help_text="Where clicks go while the offer is paused or expired.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField(
        null=True, blank=True, validators=[validate_not_before_earliest]
    )
    default_payout = models.DecimalField(
        max_digits=14, decimal_places=4, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    revenue_cap = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="A postback reporting more revenue than this is refused (400) and logged. "
        "Blank: no cap.",
    )
    interstitial_mode = models.CharField(
        max_length=16, choices=InterstitialMode.choices, default=InterstitialMode.NONE
    )
    interstitial_template = models.ForeignKey(
        InterstitialTemplate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offers",
    )
    # Only a SHA-256 of the postback secret is kept: it is shown once, when the offer is made
    # or the secret rotated, like an API key.
    postback_secret_hash = models.CharField(max_length=64, editable=False)
    click_window_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=CLICK_WINDOW_VALIDATORS,
        help_text="Blank: the account's default click window.",
    )
    # A/B destinations and routing rules (links.routing has their rules and checks).
    variants = models.JSONField(
        default=list,
        db_default=[],
        blank=True,
        help_text='A/B destinations: [{"name": "a", "url": "https://...", "weight": 50}, ...]. '
        "Each new link gets one by a stable hash of its contact and message.",
    )
    rules = models.JSONField(
        default=list,
        db_default=[],
        blank=True,
        help_text='Routing rules, first match wins: [{"device": "ios", "country": "US", '
        '"language": "es", "url": "https://..."}, ...].',
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "trackly_offer"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="offer_unique_account_external_id",
            ),
            models.CheckConstraint(
                condition=~models.Q(interstitial_mode="custom")
                | models.Q(interstitial_template__isnull=False),
                name="offer_custom_interstitial_has_template",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        related_in_same_account(self, "interstitial_template")
        if self.account_id is not None and (
            uncovered := self.account.retention_uncovered(
                offer_pk=self.pk, offer_window=self.click_window_days
            )
        ):
            raise ValidationError({"click_window_days": uncovered})
        if (
            self.interstitial_mode == self.InterstitialMode.CUSTOM
            and not self.interstitial_template_id
        ):
            raise ValidationError(
                {"interstitial_template": "A custom interstitial needs a template."}
            )

    def rotate_postback_secret(self) -> str:
        secret = secrets.token_urlsafe(24)
        self.postback_secret_hash = hash_secret(secret)
        return secret

    def postback_secret_matches(self, secret: str) -> bool:
        return secret_matches(self.postback_secret_hash, secret)

    def revenue_within_cap(self, revenue: Decimal) -> bool:
        """A postback may report at most the offer's revenue cap (attribution.fastpath
        declines above it, in SQL, leaving the answer to the full path)."""
        return self.revenue_cap is None or revenue <= self.revenue_cap
