"""Payout, pending approval and cost in the rollups: the new figure columns
(reporting.metrics: payout, view_through_payout, pending_conversions, pending_revenue; cost
per table: DailyRollup's cost and offer_cost, MessageRollup's and TraitRollup's cost).

A conversion's approval and payout and a message's cost now decide figures, so the
conversion and message trigger functions (0002, as 0007 left them) are replaced by ones
that also compare those columns, otherwise the same. A message's cost falls on its sent
day: a change marks that hour (not every day, as a change of its campaign does). Every
hour with figures is marked stale, so the next build fills the new columns (PostgreSQL
only; the embedded SQLite default rebuilds everything on each build anyway).
"""

import importlib

from django.db import migrations, models

_0002 = importlib.import_module("reporting.migrations.0002_dirty_triggers")
_0007 = importlib.import_module("reporting.migrations.0007_trait_rollup")

_MESSAGE_COST_HOURS = """
            -- A message's cost is counted on its sent day, with its sends.
            INSERT INTO reporting_dirtyhour (account_id, hour)
                SELECT DISTINCT n.account_id, date_trunc('hour', n.sent_at, 'UTC')
                FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE o.cost IS DISTINCT FROM n.cost;
        END IF;"""


def _bodies() -> dict[str, tuple[str, str]]:
    """table -> (the function body before, after)."""
    old = {
        "attribution_conversion": _0007._bodies()["attribution_conversion"][1],
        "trackly_message": _0002._FUNCTIONS["trackly_message"],
    }
    message = _0007._with(old["trackly_message"], "contact_id", "{r}.cost")
    assert message.count("END IF;") == 1
    new = {
        "attribution_conversion": _0007._with(
            old["attribution_conversion"], "offer_id", "{r}.approval, {r}.payout"
        ),
        "trackly_message": message.replace("END IF;", _MESSAGE_COST_HOURS.strip()),
    }
    return {table: (old[table], new[table]) for table in old}


def triggers_replace(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for table, (_, body) in _bodies().items():
            schema_editor.execute(_0002._function_sql(table, body))


def triggers_restore(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for table, (body, _) in _bodies().items():
            schema_editor.execute(_0002._function_sql(table, body))


class Migration(migrations.Migration):

    dependencies = [
        ('reporting', '0007_trait_rollup'),
        ('attribution', '0008_approval_money'),
        ('core', '0006_costs_holdout'),
    ]

    operations = [
        migrations.AddField(
            model_name='dailyrollup',
            name='cost',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=20),
        ),
        migrations.AddField(
            model_name='dailyrollup',
            name='offer_cost',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=20),
        ),
        migrations.AddField(
            model_name='dailyrollup',
            name='payout',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=20),
        ),
        migrations.AddField(
            model_name='dailyrollup',
            name='pending_conversions',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='dailyrollup',
            name='pending_revenue',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=20),
        ),
        migrations.AddField(
            model_name='dailyrollup',
            name='view_through_payout',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=20),
        ),
        migrations.AddField(
            model_name='messagerollup',
            name='cost',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=20),
        ),
        migrations.AddField(
            model_name='messagerollup',
            name='payout',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=20),
        ),
        migrations.AddField(
            model_name='messagerollup',
            name='pending_conversions',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='messagerollup',
            name='pending_revenue',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=20),
        ),
        migrations.AddField(
            model_name='messagerollup',
            name='view_through_payout',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=20),
        ),
        migrations.AddField(
            model_name='traitrollup',
            name='cost',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=20),
        ),
        migrations.AddField(
            model_name='traitrollup',
            name='payout',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=20),
        ),
        migrations.AddField(
            model_name='traitrollup',
            name='pending_conversions',
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='traitrollup',
            name='pending_revenue',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=20),
        ),
        migrations.AddField(
            model_name='traitrollup',
            name='view_through_payout',
            field=models.DecimalField(decimal_places=4, default=0, max_digits=20),
        ),
        migrations.RunPython(triggers_replace, triggers_restore),
        migrations.RunPython(_0007.hours_mark, migrations.RunPython.noop),
    ]
