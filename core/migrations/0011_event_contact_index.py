"""An erasure finds the events naming a contact (core.erasure: data -> contact -> id, per
account) through an index on that expression rather than a scan of the account's events.
A plain CREATE INDEX (not CONCURRENTLY): it works on a partitioned table too."""

import django.db.models.fields.json
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0010_event_partitioned"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="event",
            index=models.Index(
                models.F("account"),
                django.db.models.fields.json.KeyTransform(
                    "id", django.db.models.fields.json.KeyTransform("contact", "data")
                ),
                name="event_account_contact",
            ),
        ),
    ]
