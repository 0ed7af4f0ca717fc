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
