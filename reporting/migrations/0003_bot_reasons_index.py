"""An index for the dashboard's "top bot reasons" (reporting.dashboard.bot_reasons): the bot
clicks of an account over a range of days, grouped by reason, read from the index alone
(an index-only scan over a fraction of the clicks) instead of the whole click table.

It lives here, beside the rollup triggers, because only reports read it. Built
CONCURRENTLY so that adding it to a live ten-million-click table blocks no writer.
PostgreSQL only, like the triggers: the embedded SQLite default is small.
"""

from __future__ import annotations

from django.db import migrations

INDEX = "reporting_rawclick_bot_reasons"


def index_create(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON links_messageshortlinkclick "
        "(account_id, clicked_at, bot_reason) WHERE is_bot"
    )


def index_drop(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ("reporting", "0002_dirty_triggers"),
        ("links", "0003_bot_behaviour"),
    ]

    operations = [migrations.RunPython(index_create, index_drop)]
