from __future__ import annotations

from django.apps import AppConfig


class LinksConfig(AppConfig):
    name = "links"
    verbose_name = "Links and clicks"

    def ready(self) -> None:
        from links import signals

        signals.connect()
