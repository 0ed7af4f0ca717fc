"""The core app: the models at the bottom of the layers, and their configuration."""

from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Accounts and messages"
