"""The automations app: click triggers (a counted click, an audience entry, a conversion)
that, after a delay that lets the verdict settle, label a contact or cue a webhook."""

from __future__ import annotations

from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    name = "automations"
    verbose_name = "Automations"
