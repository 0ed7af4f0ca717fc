"""One meaning per name: `link_id` and `click_id` are the public codes (on the short link
and the raw click); the foreign keys that shared those names are renamed, columns included
(`short_link_id`, `raw_click_id`). A rename in place: no row is copied or lost. The
triggers that name the old column are replaced in reporting 0006.

The raw clicks' (link, clicked_at) index names the field: on PostgreSQL it follows its
column and stays as it is (no rebuild of the biggest table's index); SQLite remakes the
table for a foreign key's rename, so there it is made again afterwards."""

from __future__ import annotations

from django.db import migrations, models

_INDEX = "rawclick_link_clicked"


def index_remake(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute(
            f"CREATE INDEX {_INDEX} ON links_messageshortlinkclick (short_link_id, clicked_at)"
        )


def index_unmake(apps: object, schema_editor: object) -> None:
    if schema_editor.connection.vendor != "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("links", "0006_core_models")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveIndex("messageshortlinkclick", _INDEX)]
        ),
        migrations.RenameField("messageshortlinkclick", "link", "short_link"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    "messageshortlinkclick",
                    models.Index(fields=["short_link", "clicked_at"], name=_INDEX),
                )
            ],
            database_operations=[migrations.RunPython(index_remake, index_unmake)],
        ),
        migrations.RenameField("messageclick", "link", "short_link"),
        migrations.RenameField("messageclick", "click", "raw_click"),
    ]
