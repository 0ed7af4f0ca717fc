"""The triggers that keep MonthRollup equal to DailyRollup's sums a month at a time, and
TraitMonthRollup to TraitRollup's: statement-level, with transition tables, as 0013's (a
build's rewrite of a day costs one grouped INSERT and UPDATE a statement). A deleted row is
subtracted by an UPDATE only, never an insert, so an account's cascade (which may delete
its month rows first) leaves nothing behind; a month row left summing no day row (`days`
0) is deleted. Filled from the rows there are. PostgreSQL
only; the embedded default sums the daily tables itself."""

from __future__ import annotations

from collections.abc import Callable

from django.db import migrations

# Figures as reporting.models has them now (frozen here, as a migration must be).
_FIGURES = ("raw_clicks", "bot_clicks", "unique_clicks", "conversions", "revenue", "payout",
            "view_through_conversions", "view_through_revenue", "view_through_payout",
            "pending_conversions", "pending_revenue")  # fmt: skip
_SLICE = ("campaign_id", "creative_id", "sending_list_id", "offer_id")

# source table, target table, its plain key columns (besides account, month and the slice),
# the summed columns, the function's name
_KEPT = (
    ("reporting_dailyrollup", "reporting_monthrollup", (),
     (*_FIGURES, "sends", "offer_sends", "cost", "offer_cost"), "reporting_months_keep"),
    ("reporting_traitrollup", "reporting_traitmonthrollup", ("dimension", "key"),
     (*_FIGURES, "sends", "cost"), "reporting_trait_months_keep"),
)  # fmt: skip


def _sql(source: str, target: str, plain: tuple[str, ...], summed: tuple[str, ...]) -> dict:
    key = ("account_id", *plain, *_SLICE)
    conflict = ", ".join(("account_id", "month", *plain, *(f"COALESCE({c}, 0)" for c in _SLICE)))
    match = " AND ".join(
        (
            "t.month = d.month",
            *(f"t.{c} = d.{c}" for c in ("account_id", *plain)),
            *(f"COALESCE(t.{c}, 0) = COALESCE(d.{c}, 0)" for c in _SLICE),
        )
    )

    def grouped(rows: str) -> str:
        sums = ", ".join(f"sum({c}) AS {c}" for c in summed) + ", count(*) AS days"
        return (
            f"SELECT {', '.join(key)}, date_trunc('month', day)::date AS month, {sums}"
            f" FROM {rows} GROUP BY {', '.join(key)}, date_trunc('month', day)::date"
        )

    columns = ", ".join((*key, "month", *summed, "days"))
    added = ", ".join(f"{c} = t.{c} + EXCLUDED.{c}" for c in (*summed, "days"))
    taken = ", ".join(f"{c} = t.{c} - d.{c}" for c in (*summed, "days"))
    return {
        "add": lambda rows: (
            f"INSERT INTO {target} AS t ({columns}) {grouped(rows)}"
            f" ON CONFLICT ({conflict}) DO UPDATE SET {added};"
        ),
        "subtract": lambda rows: (
            f"UPDATE {target} AS t SET {taken} FROM ({grouped(rows)}) AS d WHERE {match};"
        ),
        # A month row that no longer sums any day row goes (its days' slice moved or went).
        "emptied": lambda rows: (
            f"DELETE FROM {target} AS t USING (SELECT DISTINCT account_id,"
            f" date_trunc('month', day)::date AS month FROM {rows}) AS d"
            f" WHERE t.account_id = d.account_id AND t.month = d.month AND t.days = 0;"
        ),
    }


def _function(source: str, target: str, plain: tuple, summed: tuple, name: str) -> str:
    sql = _sql(source, target, plain, summed)
    add, subtract, emptied = sql["add"], sql["subtract"], sql["emptied"]
    return f"""
    CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            {add("new_rows")}
        ELSIF TG_OP = 'DELETE' THEN
            {subtract("old_rows")}
            {emptied("old_rows")}
        ELSE
            {subtract("old_rows")}
            {add("new_rows")}
            {emptied("old_rows")}
        END IF;
        RETURN NULL;
    END;
    $$;
    CREATE TRIGGER {name}_insert AFTER INSERT ON {source}
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION {name}();
    CREATE TRIGGER {name}_delete AFTER DELETE ON {source}
        REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION {name}();
    CREATE TRIGGER {name}_update AFTER UPDATE ON {source}
        REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION {name}();
    {add(source)}
"""


def _drop(source: str, target: str, plain: tuple, summed: tuple, name: str) -> str:
    return f"""
    DROP TRIGGER IF EXISTS {name}_insert ON {source};
    DROP TRIGGER IF EXISTS {name}_delete ON {source};
    DROP TRIGGER IF EXISTS {name}_update ON {source};
    DROP FUNCTION IF EXISTS {name}();
    DELETE FROM {target};
"""


def _run(make: Callable[..., str]) -> Callable[[object, object], None]:
    def run(apps: object, schema_editor: object) -> None:
        if schema_editor.connection.vendor == "postgresql":
            for kept in _KEPT:
                schema_editor.execute(make(*kept))

    return run


class Migration(migrations.Migration):
    # Its own migration: 0014's unique indexes, the ON CONFLICT targets, are made at that
    # migration's end.
    dependencies = [("reporting", "0014_month_rollups")]

    operations = [migrations.RunPython(_run(_function), _run(_drop))]
