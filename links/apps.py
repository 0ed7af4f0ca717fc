from __future__ import annotations

from django.apps import AppConfig


class LinksConfig(AppConfig):
    name = "links"
    verbose_name = "Links and clicks"

    def ready(self) -> None:
        from core import hooks as core_hooks
        from links import privacy, signals

        signals.connect()
        core_hooks.contact_erasing.register(privacy.clicks_erase)
