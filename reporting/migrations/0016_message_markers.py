"""DirtyMessage becomes one marker per writing statement naming every message it touched
(`message_ids`, a JSON list), not a row per message: a consumer batch of 500 clicks on 500
messages wrote 500 rows (1,000 for first clicks); one marker saves 2-3 us of PostgreSQL a
stored click (bench/click_write.py, 2026-12-04).

Each trigger function that marks messages (PostgreSQL only; 0002, 0004, 0006, 0008 and
0011 wrote them) is rewritten where it stands, so the rest of its body stays as the
migrations left it: its `INSERT INTO reporting_dirtymessage (message_id) SELECT ...;`
becomes an aggregate of that same SELECT into one row, written only when it names any.
Markers waiting are carried over, one a row. Reversed, the waiting markers are replaced by
a rebuild of every account (a marker of every day, which rebuilds every message too)."""

from __future__ import annotations

import re

from django.db import migrations, models

_FUNCTIONS = (
    "reporting_mark_links_messageshortlinkclick",
    "reporting_mark_links_messageclick",
    "reporting_mark_attribution_conversion",
    "reporting_mark_trackly_message",
    "reporting_mark_links_messageshortlink",
)
_ROW_A_MESSAGE = re.compile(
    r"INSERT INTO reporting_dirtymessage \(message_id\)\s*(SELECT .*?);", re.DOTALL
)
_ROW_A_STATEMENT = re.compile(
    r"INSERT INTO reporting_dirtymessage \(message_ids\)\s*SELECT jsonb_agg\(marked\.message_id\)"
    r" FROM \((SELECT .*?)\) AS marked\(message_id\) HAVING count\(\*\) > 0;",
    re.DOTALL,
)


def _one_row(match: re.Match) -> str:
    return (
        "INSERT INTO reporting_dirtymessage (message_ids)\n"
        "                SELECT jsonb_agg(marked.message_id)"
        f" FROM ({match.group(1)}) AS marked(message_id) HAVING count(*) > 0;"
    )


def _row_each(match: re.Match) -> str:
    return f"INSERT INTO reporting_dirtymessage (message_id)\n                {match.group(1)};"


def _rewrite(schema_editor: object, pattern: re.Pattern, replace: object) -> None:
    with schema_editor.connection.cursor() as cursor:
        for name in _FUNCTIONS:
            cursor.execute("SELECT pg_get_functiondef(%s::regproc)", [name])
            (definition,) = cursor.fetchone()
            rewritten, count = pattern.subn(replace, definition)
            assert count, f"{name} no longer marks messages as this migration expects"
            cursor.execute(rewritten)


def functions_forward(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "postgresql":
        _rewrite(schema_editor, _ROW_A_MESSAGE, _one_row)


def functions_backward(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "postgresql":
        _rewrite(schema_editor, _ROW_A_STATEMENT, _row_each)


def markers_carried(apps: object, schema_editor: object) -> None:
    array = "jsonb_build_array" if schema_editor.connection.vendor == "postgresql" else "json_array"
    schema_editor.execute(f"UPDATE reporting_dirtymessage SET message_ids = {array}(message_id)")


def everything_marked(apps: object, schema_editor: object) -> None:
    """Backward: the per-statement markers cannot go back in the old column; every account
    is rebuilt instead."""
    apps.get_model("reporting", "DirtyMessage").objects.all().delete()
    DirtyHour = apps.get_model("reporting", "DirtyHour")
    DirtyHour.objects.bulk_create(
        [
            DirtyHour(account_id=pk, hour=None)
            for pk in apps.get_model("core", "Account").objects.values_list("pk", flat=True)
        ]
    )


class Migration(migrations.Migration):
    dependencies = [("reporting", "0015_month_triggers")]

    operations = [
        migrations.AddField(
            model_name="dirtymessage", name="message_ids", field=models.JSONField(default=list)
        ),
        migrations.RunPython(functions_forward, functions_backward),
        migrations.RunPython(markers_carried, migrations.RunPython.noop),
        migrations.RemoveField(model_name="dirtymessage", name="message_id"),
        # Backward, this runs first: the old column comes back on an empty table.
        migrations.RunPython(migrations.RunPython.noop, everything_marked),
    ]
