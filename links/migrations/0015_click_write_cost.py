"""Storing a click costs less (issue 19): the raw click's references out lose their database
foreign keys and the indexes that Meta's composite indexes make redundant, and click_id its
LIKE index (PostgreSQL's varchar_pattern_ops twin of the unique one: nothing looks click ids
up by prefix; the admin's search is exact). links.models says why."""

import django.db.models.deletion
from django.db import migrations, models


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
    ]
