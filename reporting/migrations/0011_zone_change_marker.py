"""A time-zone change marks the account with the zone it had (DirtyHour.time_zone_was)
rather than every day: reporting.services cuts again only the days whose raw rows are kept,
and the days past retention keep the rows cut in the old zone (their raw clicks are gone,
so they cannot be cut again). Replaces 0002's function on trackly_account; PostgreSQL only,
as the triggers are."""

from __future__ import annotations

from collections.abc import Callable

from django.db import migrations, models

_FUNCTION = """
    CREATE OR REPLACE FUNCTION reporting_mark_trackly_account() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        -- Report days are cut in the account's time zone.
        INSERT INTO reporting_dirtyhour (account_id, hour, time_zone_was)
            SELECT n.id, NULL::timestamptz, o.time_zone
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.time_zone IS DISTINCT FROM n.time_zone;
        RETURN NULL;
    END;
    $$;
"""

_FUNCTION_BEFORE = """
    CREATE OR REPLACE FUNCTION reporting_mark_trackly_account() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO reporting_dirtyhour (account_id, hour)
            SELECT n.id, NULL::timestamptz FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.time_zone IS DISTINCT FROM n.time_zone;
        RETURN NULL;
    END;
    $$;
"""


def _run(sql: str) -> Callable[[object, object], None]:
    def run(apps: object, schema_editor: object) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("reporting", "0010_pruned_clicks")]

    operations = [
        migrations.AddField(
            model_name="dirtyhour",
            name="time_zone_was",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
        migrations.RunPython(_run(_FUNCTION), _run(_FUNCTION_BEFORE)),
    ]
