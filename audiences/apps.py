"""The audiences app: contacts' labels, audiences built from clicks, sends, conversions and
labels, and their membership kept current from the event log."""

from __future__ import annotations

from django.apps import AppConfig


class AudiencesConfig(AppConfig):
    name = "audiences"
    verbose_name = "Audiences and labels"

    def ready(self) -> None:
        from audiences import services
        from core import hooks as core_hooks

        core_hooks.contact_erasing.register(services.contact_audiences_erase)
