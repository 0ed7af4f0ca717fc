"""Reporting points at the core models (state only: the columns and their foreign keys
stay as they are)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_initial'),
        ('reporting', '0004_bot_reason_rollup'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='botreasonrollup',
                    name='account',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.account'),
                ),
                migrations.AlterField(
                    model_name='dailyrollup',
                    name='account',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.account'),
                ),
                migrations.AlterField(
                    model_name='dailyrollup',
                    name='campaign',
                    field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.campaign'),
                ),
                migrations.AlterField(
                    model_name='dailyrollup',
                    name='creative',
                    field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.creative'),
                ),
                migrations.AlterField(
                    model_name='dailyrollup',
                    name='offer',
                    field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.offer'),
                ),
                migrations.AlterField(
                    model_name='dailyrollup',
                    name='sending_list',
                    field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.sendinglist'),
                ),
                migrations.AlterField(
                    model_name='messagerollup',
                    name='account',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.account'),
                ),
                migrations.AlterField(
                    model_name='messagerollup',
                    name='campaign',
                    field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.campaign'),
                ),
                migrations.AlterField(
                    model_name='messagerollup',
                    name='creative',
                    field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.creative'),
                ),
                migrations.AlterField(
                    model_name='messagerollup',
                    name='message',
                    field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.message'),
                ),
                migrations.AlterField(
                    model_name='messagerollup',
                    name='offer',
                    field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.offer'),
                ),
                migrations.AlterField(
                    model_name='messagerollup',
                    name='sending_list',
                    field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.sendinglist'),
                ),
            ],
        ),
    ]
