"""Retention's deletes of raw clicks mark no rollup stale: the raw clicks' DELETE trigger
(0002) fires only when the transaction is not retention's (core.retention.RETENTION_SETTING,
set transaction-locally by core.retention.retention_transaction). A day past retention keeps
its rollup rows; rebuilding it from the rows that are gone would zero its click figures.
PostgreSQL only, as the triggers are."""

from __future__ import annotations

from django.db import migrations

_TABLE = "links_messageshortlinkclick"


def _trigger(when: str) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS reporting_mark_delete ON {_TABLE}",
        f"""
        CREATE TRIGGER reporting_mark_delete
            AFTER DELETE ON {_TABLE}
            REFERENCING OLD TABLE AS changed_rows
            FOR EACH STATEMENT {when}
            EXECUTE FUNCTION reporting_mark_{_TABLE}();
        """,
    ]


def unmarked(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    when = "WHEN (current_setting('trackly.retention', true) IS DISTINCT FROM 'on')"
    for statement in _trigger(when):
        schema_editor.execute(statement)


def marked(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in _trigger(""):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("reporting", "0008_figures_payout_pending_cost")]

    operations = [migrations.RunPython(unmarked, marked)]
