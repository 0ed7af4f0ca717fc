"""The audiences app: contacts' labels, audiences built from clicks, sends, conversions and
labels, and their membership kept current from the event log."""

from __future__ import annotations

from django.apps import AppConfig


class AudiencesConfig(AppConfig):
    name = "audiences"
    verbose_name = "Audiences and labels"
