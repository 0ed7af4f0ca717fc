"""Attribution points at the core models (state only: the columns and their foreign keys
stay as they are)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('attribution', '0004_revenue_reported'),
        ('core', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='conversion',
                    name='account',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='conversions', to='core.account'),
                ),
                migrations.AlterField(
                    model_name='conversion',
                    name='campaign',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='core.campaign'),
                ),
                migrations.AlterField(
                    model_name='conversion',
                    name='contact',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='conversions', to='core.contact'),
                ),
                migrations.AlterField(
                    model_name='conversion',
                    name='creative',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='core.creative'),
                ),
                migrations.AlterField(
                    model_name='conversion',
                    name='message',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='conversions', to='core.message'),
                ),
                migrations.AlterField(
                    model_name='conversion',
                    name='offer',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='conversions', to='core.offer'),
                ),
                migrations.AlterField(
                    model_name='fraudflag',
                    name='account',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='fraud_flags', to='core.account'),
                ),
                migrations.AlterField(
                    model_name='fraudflag',
                    name='campaign',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.campaign'),
                ),
                migrations.AlterField(
                    model_name='postbacklog',
                    name='account',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.account'),
                ),
            ],
        ),
    ]
