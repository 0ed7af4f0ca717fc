"""TraitRollup: the figures by click trait (device, OS family, country, A/B variant), for
the devices, os, countries and variants reports; rebuilt with DailyRollup for the days the
triggers mark.

A click's traits, a counted click's raw click, a conversion's credited raw click and a
link's variant now decide figures, so the trigger functions of 0002/0004/0006 are replaced
by ones that also compare those columns (and are otherwise the same). The hours that have
figures are marked stale, so the next build fills the new table (PostgreSQL only; the
embedded SQLite default rebuilds everything on each build anyway).
"""

import importlib

import django.db.models.deletion
import django.db.models.functions.comparison
from django.db import migrations, models


_0002 = importlib.import_module("reporting.migrations.0002_dirty_triggers")
_0004 = importlib.import_module("reporting.migrations.0004_bot_reason_rollup")
_0006 = importlib.import_module("reporting.migrations.0006_short_link_trigger")


def _with(body: str, after: str, added: str) -> str:
    """`body` with `added` compared after each `after` column, on the old and new rows."""
    grown = body.replace(f"o.{after}", f"o.{after}, {added.format(r='o')}").replace(
        f"n.{after}", f"n.{after}, {added.format(r='n')}"
    )
    assert grown != body, "the trigger function no longer names the column"
    return grown


def _bodies() -> dict[str, tuple[str, str]]:
    """table -> (the function body before, after)."""
    clicks = _0006._renamed(_0004._CLICKS_FUNCTION, "link_id", "short_link_id")
    old = {
        "links_messageshortlinkclick": clicks,
        "links_messageclick": _0002._FUNCTIONS["links_messageclick"],
        "attribution_conversion": _0002._FUNCTIONS["attribution_conversion"],
        "links_messageshortlink": _0002._FUNCTIONS["links_messageshortlink"],
    }
    new = {
        # bot_reason is compared only where the hours are marked: the traits matter there.
        "links_messageshortlinkclick": _with(
            clicks, "bot_reason", "{r}.device, {r}.os, {r}.country, {r}.variant"
        ),
        "links_messageclick": _with(old["links_messageclick"], "offer_id", "{r}.raw_click_id"),
        "attribution_conversion": _with(
            old["attribution_conversion"], "offer_id", "{r}.raw_click_id"
        ),
        "links_messageshortlink": _with(old["links_messageshortlink"], "offer_id", "{r}.variant"),
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


# Every UTC hour with a send, a click or a conversion (reporting.services._FIGURE_TIMES).
_MARK = """
    INSERT INTO reporting_dirtyhour (account_id, hour)
    SELECT account_id, date_trunc('hour', sent_at, 'UTC') FROM trackly_message
    UNION SELECT account_id, date_trunc('hour', clicked_at, 'UTC')
        FROM links_messageshortlinkclick
    UNION SELECT account_id, date_trunc('hour', occurred_at, 'UTC') FROM attribution_conversion
"""


def hours_mark(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_MARK)


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0005_routing'),
        ('reporting', '0006_short_link_trigger'),
        ('links', '0010_routing'),
        ('attribution', '0007_conversion_announced'),
    ]

    operations = [
        migrations.CreateModel(
            name='TraitRollup',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('raw_clicks', models.PositiveIntegerField(default=0)),
                ('bot_clicks', models.PositiveIntegerField(default=0)),
                ('unique_clicks', models.PositiveIntegerField(default=0)),
                ('conversions', models.PositiveIntegerField(default=0)),
                ('revenue', models.DecimalField(decimal_places=4, default=0, max_digits=20)),
                ('view_through_conversions', models.PositiveIntegerField(default=0)),
                ('view_through_revenue', models.DecimalField(decimal_places=4, default=0, max_digits=20)),
                ('day', models.DateField()),
                ('dimension', models.CharField(max_length=16)),
                ('key', models.CharField(blank=True, max_length=64)),
                ('sends', models.PositiveIntegerField(default=0)),
                ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.account')),
                ('campaign', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.campaign')),
                ('creative', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.creative')),
                ('offer', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.offer')),
                ('sending_list', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.sendinglist')),
            ],
            options={
                'indexes': [models.Index(fields=['account', 'dimension', 'day'], name='traitrollup_dimension_day')],
                'constraints': [models.UniqueConstraint(models.F('account'), models.F('day'), models.F('dimension'), models.F('key'), django.db.models.functions.comparison.Coalesce('campaign', 0), django.db.models.functions.comparison.Coalesce('creative', 0), django.db.models.functions.comparison.Coalesce('sending_list', 0), django.db.models.functions.comparison.Coalesce('offer', 0), name='traitrollup_unique_slice')],
            },
        ),
        migrations.RunPython(triggers_replace, triggers_restore),
        migrations.RunPython(hours_mark, migrations.RunPython.noop),
    ]
