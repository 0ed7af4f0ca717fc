"""Who an account sends to: contacts and the sending lists (with their bot-detection switch)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from core.models.accounts import Account
from core.models.tracking import InterstitialTemplate
from core.models.validation import related_in_same_account


class Contact(models.Model):
    """A recipient. `external_id` is the sending platform's id; when it sends none, the
    phone (else the email) is the id, so one phone is one contact."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    external_id = models.CharField(max_length=200)
    phone = models.CharField(max_length=16, blank=True, help_text="E.164, e.g. +14155550123")
    email = models.EmailField(max_length=254, blank=True)
    is_test = models.BooleanField(
        default=False,
        db_default=False,
        help_text="A tester: its clicks are stored as internal and never count.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Set by core.erasure: an erased contact is scrubbed and invisible (its id stays, for
    # the counted clicks, conversions and rollups that name it).
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "trackly_contact"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"], name="contact_unique_account_external_id"
            )
        ]
        indexes = [
            models.Index(fields=["account", "phone"], name="contact_account_phone"),
            models.Index(fields=["account", "email"], name="contact_account_email"),
        ]

    def __str__(self) -> str:
        return self.phone or self.email or self.external_id


class ContactErasure(models.Model):
    """The record that a contact was erased: when, by which API key (its id and public
    prefix, never the secret) and by which lookup. It names nothing personal."""

    class Lookup(models.TextChoices):
        ID = "id", "By id"
        EXTERNAL_ID = "external_id", "By external id"
        PHONE = "phone", "By phone"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    # The contact row stays (scrubbed); a plain id keeps the record whatever happens to it.
    contact_id = models.BigIntegerField()
    lookup = models.CharField(max_length=16, choices=Lookup.choices)
    api_key_id = models.BigIntegerField(null=True, blank=True)
    api_key_prefix = models.CharField(max_length=32, blank=True)
    erased_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "core_contacterasure"
        indexes = [models.Index(fields=["account", "erased_at"], name="erasure_account_erased")]

    def __str__(self) -> str:
        return f"contact {self.contact_id} erased {self.erased_at:%Y-%m-%d %H:%M:%S}"


class SendingList(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="lists")
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=200, null=True, blank=True)
    bot_detection_enabled = models.BooleanField(
        default=True,
        help_text="Off: bot verdicts are still recorded, but a bot's click can be the "
        "contact's counted first click.",
    )
    default_interstitial = models.ForeignKey(
        InterstitialTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Shown for offers whose interstitial mode is 'list default'.",
    )
    scanner_window_seconds = models.PositiveIntegerField(
        default=3,
        help_text="Clicks this soon after the message was sent are carrier scanners.",
    )
    is_test = models.BooleanField(
        default=False,
        db_default=False,
        help_text="A seed or test list: its clicks are stored as internal and never count.",
    )
    # On for new lists; lists that existed when it came (core 0005) keep it off.
    datacenter_check = models.BooleanField(
        default=True,
        db_default=True,
        help_text="Browser agents from hosting and cloud networks are bots "
        "(behaviour:datacenter:<network>).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "trackly_sendinglist"
        verbose_name = "sending list"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="list_unique_account_name"),
            models.UniqueConstraint(
                fields=["account", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="list_unique_account_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        related_in_same_account(self, "default_interstitial")
