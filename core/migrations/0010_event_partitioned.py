# Events partitioned by month of created_at on PostgreSQL (core.partitioning), once the
# deliveries' reference into them carries no database foreign key (webhooks 0002).
# SQLite keeps one table.

from django.db import migrations

from core.partitioning import table_partition, table_unpartition

TABLE = "core_event"


def forward(apps, schema_editor):
    table_partition(schema_editor, TABLE, "created_at")


def backward(apps, schema_editor):
    table_unpartition(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0009_partitioned"),
        ("webhooks", "0002_partitioned"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
