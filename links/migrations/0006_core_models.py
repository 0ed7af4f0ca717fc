"""TrackingDomain and InterstitialTemplate leave links's state: they are core's now (core
0001), on the same tables."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('links', '0005_core_models'),
        ('trackly', '0005_core_models'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='InterstitialTemplate',
                ),
                migrations.DeleteModel(
                    name='TrackingDomain',
                ),
            ],
        ),
    ]
