from __future__ import annotations

from django.apps import AppConfig


class AttributionConfig(AppConfig):
    name = "attribution"
    verbose_name = "Conversions and attribution"

    def ready(self) -> None:
        # Imported here, as Django's own apps do: models load only once the registry is.
        from attribution import receivers

        receivers.register()
