"""Storing a click costs less (issue 19): the raw click's references out lose their database
foreign keys and the indexes that Meta's composite indexes make redundant, and click_id its
LIKE index (PostgreSQL's varchar_pattern_ops twin of the unique one: nothing looks click ids
up by prefix; the admin's search is exact). links.models says why."""

import importlib

import django.db.models.deletion
from django.db import migrations, models

# links 0014's trigger keeping a counted click's traits equal to its raw click's. SQLite
# rebuilds a table to alter it: the rebuild of links_messageclick fails while a trigger
# names it, and the rebuild of the raw clicks drops the trigger. So on SQLite it is dropped
# before these AlterFields and made again after (PostgreSQL alters in place: untouched).
_traits = importlib.import_module("links.migrations.0014_message_click_traits")


def traits_trigger_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        _traits.trigger_drop(apps, schema_editor)


def traits_trigger_create(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        _traits.trigger_create(apps, schema_editor)


LIKE_INDEX = "links_messageshortlinkclick_click_id_2b5e81f8_like"


def like_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {LIKE_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0008_contact_erasure"),
        ("links", "0014_message_click_traits"),
    ]

    operations = [
        migrations.RunPython(traits_trigger_drop, traits_trigger_create),
        migrations.AlterField(
            model_name="messageclick",
            name="account",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="core.account",
            ),
        ),
        migrations.AlterField(
            model_name="messageclick",
            name="contact",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="message_clicks",
                to="core.contact",
            ),
        ),
        migrations.AlterField(
            model_name="messageshortlinkclick",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="core.account",
            ),
        ),
        migrations.AlterField(
            model_name="messageshortlinkclick",
            name="contact",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="core.contact",
            ),
        ),
        migrations.AlterField(
            model_name="messageshortlinkclick",
            name="message",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="raw_clicks",
                to="core.message",
            ),
        ),
        migrations.AlterField(
            model_name="messageshortlinkclick",
            name="short_link",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="clicks",
                to="links.messageshortlink",
            ),
        ),
        # Not put back on the way back: nothing uses it, and links 0013's way back (the table
        # made plain again) builds the table's indexes itself, this one's name among them.
        migrations.RunPython(like_index_drop, migrations.RunPython.noop),
        migrations.RunPython(traits_trigger_create, traits_trigger_drop),
    ]
