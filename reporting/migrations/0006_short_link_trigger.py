"""The raw clicks' trigger function named the column `link_id`, renamed `short_link_id` by
links 0007: replaced by the same function on the new name (PostgreSQL only; a plpgsql body
is checked when it runs, so the old one would fail on the next update)."""

from __future__ import annotations

import importlib

from django.db import migrations

_0002 = importlib.import_module("reporting.migrations.0002_dirty_triggers")
_0004 = importlib.import_module("reporting.migrations.0004_bot_reason_rollup")
_TABLE = "links_messageshortlinkclick"


def _renamed(body: str, old: str, new: str) -> str:
    renamed = body.replace(f"o.{old}", f"o.{new}").replace(f"n.{old}", f"n.{new}")
    assert renamed != body, "the trigger function no longer names the column"
    return renamed


def trigger_replace(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "postgresql":
        body = _renamed(_0004._CLICKS_FUNCTION, "link_id", "short_link_id")
        schema_editor.execute(_0002._function_sql(_TABLE, body))


def trigger_restore(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_0002._function_sql(_TABLE, _0004._CLICKS_FUNCTION))


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0005_core_models"),
        ("links", "0007_short_link_raw_click"),
    ]

    operations = [migrations.RunPython(trigger_replace, trigger_restore)]
