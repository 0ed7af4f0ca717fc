"""Messages: one send to one contact, with its body as given and as sent."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from core.models.accounts import Account
from core.models.audience import Contact, SendingList
from core.models.campaigns import Campaign, Creative
from core.models.validation import related_in_same_account


class Message(models.Model):
    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        EMAIL = "email", "Email"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="messages")
    external_id = models.CharField(max_length=200, null=True, blank=True)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="messages")
    sending_list = models.ForeignKey(
        SendingList, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    creative = models.ForeignKey(
        Creative, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.SMS)
    body = models.TextField(help_text="The body as the sending platform gave it.")
    rewritten_body = models.TextField(help_text="The body with tracked links, as sent.")
    segments = models.PositiveSmallIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "trackly_message"
        constraints = [
            # The minting API's idempotency: one message per external id, under any race.
            models.UniqueConstraint(
                fields=["account", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="message_unique_account_external_id",
            )
        ]
        indexes = [
            models.Index(fields=["account", "sent_at"], name="message_account_sent_at"),
            models.Index(fields=["contact", "sent_at"], name="message_contact_sent_at"),
            models.Index(fields=["campaign", "sent_at"], name="message_campaign_sent_at"),
        ]

    def __str__(self) -> str:
        return self.external_id or f"message {self.pk}"

    def clean(self) -> None:
        related_in_same_account(self, "contact", "sending_list", "campaign", "creative")
