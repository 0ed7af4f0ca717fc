"""The devdata app: demo data (`load_demo`) and benchmark data (`fill_scale_data`)."""

from __future__ import annotations

from django.apps import AppConfig


class DevdataConfig(AppConfig):
    name = "devdata"
    verbose_name = "Demo and benchmark data"
