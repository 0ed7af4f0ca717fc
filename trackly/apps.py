"""The trackly app: its start-up checks."""

from __future__ import annotations

from django.apps import AppConfig


class TracklyConfig(AppConfig):
    name = "trackly"
    verbose_name = "Accounts and messages"

    def ready(self) -> None:
        from trackly import ratelimit

        # A mistyped API_RATE_LIMIT stops every process at start-up, not each request.
        ratelimit.rate_limit()
