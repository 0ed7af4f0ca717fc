"""Webhook endpoints: where an account wants its events pushed, and the secret they are
signed with (sealed at rest: core.sealing). Deliveries are the webhooks app's."""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils import timezone

from core.fields import UriField
from core.models.accounts import Account
from core.sealing import sealed_open


class WebhookEndpoint(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="webhooks")
    url = UriField(max_length=2000)
    # Event types this endpoint receives (core.events.EVENT_TYPES).
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True)
    # The signing secret (whsec_...), sealed; after a rotation the previous one, until
    # previous_secret_until, so receivers can switch over (both signatures are sent).
    secret_sealed = models.TextField(editable=False)
    previous_secret_sealed = models.TextField(blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    is_enabled = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # The first failed delivery of the current run of failures (cleared by a success):
    # failing for WEBHOOK_DISABLE_AFTER disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "core_webhookendpoint"
        verbose_name = "webhook endpoint"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url

    def signing_secrets(self, now: dt.datetime | None = None) -> list[str]:
        """The secrets to sign with now: the current one, and the previous one while the
        rotation's overlap lasts."""
        now = now or timezone.now()
        secrets = [sealed_open(self.secret_sealed)]
        until = self.previous_secret_until
        if self.previous_secret_sealed and until and now < until:
            secrets.append(sealed_open(self.previous_secret_sealed))
        return secrets
