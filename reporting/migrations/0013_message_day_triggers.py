"""MessageDayRollup, the messages report's totals a day at a time, and the triggers that keep
it equal to MessageRollup's sums: statement-level, with transition tables, as 0002's
(a build's batch of 500 message rows costs one grouped INSERT or UPDATE). A deleted row is
subtracted by an UPDATE only, never an insert, so an account's cascade (which may delete
its day rows first) leaves nothing behind. Filled from the rows there are. PostgreSQL only;
the embedded default sums MessageRollup itself."""

from __future__ import annotations

from collections.abc import Callable

from django.db import migrations

# Figures and cost, as reporting.models has them now (frozen here, as a migration must be).
_SUMMED = ("raw_clicks", "bot_clicks", "unique_clicks", "conversions", "revenue", "payout",
           "view_through_conversions", "view_through_revenue", "view_through_payout",
           "pending_conversions", "pending_revenue", "cost")  # fmt: skip
_KEY = ("account_id", "day", "campaign_id", "creative_id", "sending_list_id", "offer_id",
        "is_first_offer")  # fmt: skip
_CONFLICT = ("account_id, day, COALESCE(campaign_id, 0), COALESCE(creative_id, 0),"
             " COALESCE(sending_list_id, 0), COALESCE(offer_id, 0), is_first_offer")  # fmt: skip
_MATCH = " AND ".join(
    f"t.{c} = d.{c}"
    if c in ("account_id", "day", "is_first_offer")
    else f"COALESCE(t.{c}, 0) = COALESCE(d.{c}, 0)"
    for c in _KEY
)


def _grouped(rows: str) -> str:
    sums = ", ".join(f"sum({c}) AS {c}" for c in _SUMMED)
    return f"SELECT {', '.join(_KEY)}, count(*) AS messages, {sums} FROM {rows} GROUP BY {', '.join(_KEY)}"


def _add(rows: str) -> str:
    columns = ", ".join((*_KEY, "messages", *_SUMMED))
    added = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in ("messages", *_SUMMED))
    return (
        f"INSERT INTO reporting_messagedayrollup AS t ({columns}) {_grouped(rows)}"
        f" ON CONFLICT ({_CONFLICT}) DO UPDATE SET {added};"
    )


def _subtract(rows: str) -> str:
    taken = ", ".join(f"{c} = t.{c} - d.{c}" for c in ("messages", *_SUMMED))
    return (
        f"UPDATE reporting_messagedayrollup AS t SET {taken}"
        f" FROM ({_grouped(rows)}) AS d WHERE {_MATCH};"
    )


_FUNCTION = f"""
    CREATE FUNCTION reporting_message_days_keep() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            {_add("new_rows")}
        ELSIF TG_OP = 'DELETE' THEN
            {_subtract("old_rows")}
        ELSE
            {_subtract("old_rows")}
            {_add("new_rows")}
        END IF;
        RETURN NULL;
    END;
    $$;
    CREATE TRIGGER reporting_message_days_insert AFTER INSERT ON reporting_messagerollup
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION reporting_message_days_keep();
    CREATE TRIGGER reporting_message_days_delete AFTER DELETE ON reporting_messagerollup
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION reporting_message_days_keep();
    CREATE TRIGGER reporting_message_days_update AFTER UPDATE ON reporting_messagerollup
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION reporting_message_days_keep();
    {_add("reporting_messagerollup")}
"""

_DROP = """
    DROP TRIGGER IF EXISTS reporting_message_days_insert ON reporting_messagerollup;
    DROP TRIGGER IF EXISTS reporting_message_days_delete ON reporting_messagerollup;
    DROP TRIGGER IF EXISTS reporting_message_days_update ON reporting_messagerollup;
    DROP FUNCTION IF EXISTS reporting_message_days_keep();
"""


def _run(sql: str) -> Callable[[object, object], None]:
    def run(apps: object, schema_editor: object) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    # Its own migration: 0012's unique index, the ON CONFLICT target, is made at that
    # migration's end.
    dependencies = [("reporting", "0012_message_day_rollup")]

    operations = [migrations.RunPython(_run(_FUNCTION), _run(_DROP))]
