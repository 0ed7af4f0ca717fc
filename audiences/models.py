"""Contacts' labels, and audiences: groups of contacts a rule over clicks, sends,
conversions and labels picks, with their members kept current."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from core.models import Account, Contact


class ContactLabel(models.Model):
    """A name put on a contact (by the API, the dashboard or an automation)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="labels")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Race: two automations adding one label at once: one row.
            models.UniqueConstraint(fields=["contact", "name"], name="label_unique_contact_name")
        ]
        indexes = [models.Index(fields=["account", "name"], name="label_account_name")]

    def __str__(self) -> str:
        return self.name


class Audience(models.Model):
    """A group of an account's contacts that a rule (audiences.rules) picks; its members
    are kept current by audiences.membership."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    # {"all": [condition, ...]}, as audiences.rules.rule_parse normalised it.
    rule = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            # Race: two creations of one name at once: one row, the other a 400.
            models.UniqueConstraint(fields=["account", "name"], name="audience_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class AudienceMember(models.Model):
    """A contact in an audience, since `entered_at`."""

    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="members")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Race: two re-evaluations of one contact at once: one row, one entered event
            # (audiences.membership inserts ON CONFLICT DO NOTHING ... RETURNING).
            models.UniqueConstraint(
                fields=["audience", "contact"], name="audiencemember_unique_contact"
            )
        ]
        indexes = [models.Index(fields=["contact"], name="audiencemember_contact")]

    def __str__(self) -> str:
        return f"{self.audience_id}/{self.contact_id}"
