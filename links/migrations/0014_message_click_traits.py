"""Counted clicks keep their raw click's traits (links.counting.KEPT_TRAITS), so the trait
reports still cut them and their conversions after retention prunes the raw click. Existing
counted clicks are filled from their raw clicks; one whose raw click is already gone keeps
the defaults, which are the no-click traits (reporting.models.TRAIT_NO_CLICK) a rebuild put
it on before.

A raw click's traits may change after its counted click is made (the judge fills in the
country and network of clicks written without them; a correction): a trigger keeps the
counted click's copy equal to its raw click's, whoever the writer is. A row trigger on
UPDATE OF those columns only (PostgreSQL allows no transition tables with a column list),
so verdicts, judged_at and IP truncation never fire it. PostgreSQL and SQLite (the embedded
default), each in its dialect. Whoever turns the raw clicks into a partitioned table must
create this trigger on the new parent (as reporting's)."""

from django.db import migrations, models

_TRAITS = ("device", "os", "country", "variant")  # links.counting.KEPT_TRAITS, as of now
_SET = ", ".join(f"{column} = NEW.{column}" for column in _TRAITS)
_OF = ", ".join(_TRAITS)

# Column names from the tuple above, never from input.
_POSTGRESQL = [
    f"""
    CREATE OR REPLACE FUNCTION links_counted_click_traits() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE links_messageclick SET {_SET} WHERE raw_click_id = NEW.id;
        RETURN NULL;
    END;
    $$;
    """,  # noqa: S608
    f"""
    CREATE TRIGGER links_counted_click_traits
        AFTER UPDATE OF {_OF} ON links_messageshortlinkclick
        FOR EACH ROW
        WHEN (({", ".join(f"OLD.{c}" for c in _TRAITS)})
              IS DISTINCT FROM ({", ".join(f"NEW.{c}" for c in _TRAITS)}))
        EXECUTE FUNCTION links_counted_click_traits();
    """,
]
_SQLITE = [
    f"""
    CREATE TRIGGER links_counted_click_traits
        AFTER UPDATE OF {_OF} ON links_messageshortlinkclick
        FOR EACH ROW
    BEGIN
        UPDATE links_messageclick SET {_SET} WHERE raw_click_id = NEW.id;
    END;
    """  # noqa: S608
]


def trigger_create(apps: object, schema_editor: object) -> None:
    vendor = schema_editor.connection.vendor
    for statement in {"postgresql": _POSTGRESQL, "sqlite": _SQLITE}.get(vendor, []):
        schema_editor.execute(statement)


def trigger_drop(apps: object, schema_editor: object) -> None:
    vendor = schema_editor.connection.vendor
    if vendor in ("postgresql", "sqlite"):
        on = " ON links_messageshortlinkclick" if vendor == "postgresql" else ""
        schema_editor.execute(f"DROP TRIGGER IF EXISTS links_counted_click_traits{on}")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS links_counted_click_traits()")


# A row-value correlated subquery: PostgreSQL and SQLite alike; one index lookup per row by
# the raw click's key.
_FILL = (
    "UPDATE links_messageclick SET (device, os, country, variant) ="
    " (SELECT r.device, r.os, r.country, r.variant FROM links_messageshortlinkclick r"
    " WHERE r.id = links_messageclick.raw_click_id)"
    " WHERE EXISTS (SELECT 1 FROM links_messageshortlinkclick r"
    " WHERE r.id = links_messageclick.raw_click_id)"
)


class Migration(migrations.Migration):
    dependencies = [
        ("links", "0013_partitioned"),
    ]

    operations = [
        migrations.AddField(
            model_name="messageclick",
            name="device",
            field=models.CharField(db_default="other", default="other", max_length=8),
        ),
        migrations.AddField(
            model_name="messageclick",
            name="os",
            field=models.CharField(blank=True, db_default="", default="", max_length=40),
        ),
        migrations.AddField(
            model_name="messageclick",
            name="country",
            field=models.CharField(blank=True, max_length=2, null=True),
        ),
        migrations.AddField(
            model_name="messageclick",
            name="variant",
            field=models.CharField(blank=True, db_default="", default="", max_length=64),
        ),
        migrations.RunSQL(_FILL, migrations.RunSQL.noop),
        migrations.RunPython(trigger_create, trigger_drop),
    ]
