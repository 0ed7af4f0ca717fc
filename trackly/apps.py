from __future__ import annotations

from django.apps import AppConfig


class TracklyConfig(AppConfig):
    name = "trackly"
    verbose_name = "Accounts and messages"
