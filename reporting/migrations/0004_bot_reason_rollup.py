"""BotReasonRollup: bot clicks per account, local day and reason, for the dashboard's bots
page (which grouped the raw bot clicks of the range on every view: 600 ms at ten million).

The build rebuilds it with DailyRollup, for the days the triggers mark. A click whose
reason changes while it stays a bot (`ua:...` to `behaviour:ip-fanout`) changes no
DailyRollup figure, so the clicks trigger of 0002 did not mark it: its function is replaced
by one that also compares bot_reason when marking hours, and is otherwise the same.

PostgreSQL fills the new table here, from the raw clicks, so that the next build need not
rebuild every day; the embedded SQLite default rebuilds everything on each build anyway.
"""

from __future__ import annotations

import importlib

import django.db.models.deletion
from django.db import migrations, models

_0002 = importlib.import_module("reporting.migrations.0002_dirty_triggers")
_TABLE = "links_messageshortlinkclick"
_HOURS = _0002._HOURS

_CLICKS_FUNCTION = f"""
        IF TG_OP IN ('INSERT', 'DELETE') THEN
            INSERT INTO reporting_dirtyhour (account_id, hour)
                SELECT DISTINCT account_id, {_HOURS.format(column="clicked_at")} FROM changed_rows;
            INSERT INTO reporting_dirtymessage (message_id)
                SELECT DISTINCT message_id FROM changed_rows;
        ELSE
            -- Setting judged_at alone (the behaviour worker) changes no figure.
            INSERT INTO reporting_dirtyhour (account_id, hour)
                SELECT DISTINCT x.account_id, {_HOURS.format(column="x.clicked_at")}
                FROM old_rows o JOIN new_rows n ON n.id = o.id,
                     LATERAL (VALUES (o.account_id, o.clicked_at), (n.account_id, n.clicked_at))
                         AS x(account_id, clicked_at)
                WHERE (o.is_bot, o.bot_reason, o.clicked_at, o.account_id, o.message_id,
                       o.link_id)
                    IS DISTINCT FROM (n.is_bot, n.bot_reason, n.clicked_at, n.account_id,
                       n.message_id, n.link_id);
            INSERT INTO reporting_dirtymessage (message_id)
                SELECT DISTINCT x.message_id
                FROM old_rows o JOIN new_rows n ON n.id = o.id,
                     LATERAL (VALUES (o.message_id), (n.message_id)) AS x(message_id)
                WHERE (o.is_bot, o.clicked_at, o.account_id, o.message_id, o.link_id)
                    IS DISTINCT FROM (n.is_bot, n.clicked_at, n.account_id, n.message_id, n.link_id);
        END IF;
    """

# Days cut in the account's zone, as TruncDate(tzinfo=...) cuts them in the build.
_FILL = """
    INSERT INTO reporting_botreasonrollup (account_id, day, bot_reason, clicks)
    SELECT c.account_id, (c.clicked_at AT TIME ZONE a.time_zone)::date, c.bot_reason, count(*)
    FROM links_messageshortlinkclick c JOIN trackly_account a ON a.id = c.account_id
    WHERE c.is_bot
    GROUP BY 1, 2, 3
"""


def trigger_replace(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_0002._function_sql(_TABLE, _CLICKS_FUNCTION))


def trigger_restore(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_0002._function_sql(_TABLE, _0002._FUNCTIONS[_TABLE]))


def rollup_fill(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_FILL)


class Migration(migrations.Migration):
    dependencies = [
        ('reporting', '0003_bot_reasons_index'),
        ('trackly', '0003_revenue_reported'),
    ]

    operations = [
        migrations.CreateModel(
            name='BotReasonRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('bot_reason', models.CharField(blank=True, max_length=100)),
                ('clicks', models.PositiveIntegerField(default=0)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='trackly.account')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('account', 'day', 'bot_reason'), name='botreasonrollup_unique_reason')],
            },
        ),
        migrations.RunPython(trigger_replace, trigger_restore),
        migrations.RunPython(rollup_fill, migrations.RunPython.noop),
    ]
