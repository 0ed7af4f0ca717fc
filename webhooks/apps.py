"""The webhooks app: endpoints' API, the fan-out of the event log into deliveries, their
signed sending with retries, and the pull API over the log."""

from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks and events"
