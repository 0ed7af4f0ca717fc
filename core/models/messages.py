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
    # What sending it cost (core.costs), fixed at mint; 0 for messages minted before costs.
    cost = models.DecimalField(max_digits=14, decimal_places=4, default=0, db_default=0)
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


class HoldoutMessage(models.Model):
    """A message the sending platform withheld from a contact of a campaign's holdout
    group (a mint request with "holdout": true): never a send, never view-through, never
    a cost; what the lift report compares the treated contacts with."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=200, null=True, blank=True)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    sending_list = models.ForeignKey(
        SendingList, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="holdouts"
    )
    creative = models.ForeignKey(
        Creative, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    channel = models.CharField(max_length=8, choices=Message.Channel.choices, default="sms")
    # The offers its links named (ids): the campaign's offers a holdout contact may convert on.
    offers = models.JSONField(default=list, blank=True)
    sent_at = models.DateTimeField(default=timezone.now)  # when it would have been sent
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "trackly_holdoutmessage"
        constraints = [
            # The minting API's idempotency, as Message's.
            models.UniqueConstraint(
                fields=["account", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="holdout_unique_account_external_id",
            )
        ]
        indexes = [
            models.Index(
                fields=["campaign", "contact", "sent_at"], name="holdout_campaign_contact"
            ),
        ]

    def __str__(self) -> str:
        return self.external_id or f"holdout {self.pk}"
