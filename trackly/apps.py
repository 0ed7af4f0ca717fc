"""The project package as an app: its start-up checks, and the migrations that made the
core tables before they moved to the core app (core/migrations/0001 took them over)."""

from __future__ import annotations

from django.apps import AppConfig


class TracklyConfig(AppConfig):
    name = "trackly"
    verbose_name = "Trackly"

    def ready(self) -> None:
        from trackly import ratelimit

        # A mistyped API_RATE_LIMIT stops every process at start-up, not each request.
        ratelimit.rate_limit()
