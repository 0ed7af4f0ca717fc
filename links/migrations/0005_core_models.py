"""Links point at the core models (state only: the columns and their foreign keys stay as
they are); TrackingDomain and InterstitialTemplate lose their account here and leave
links in 0006, once nothing in trackly's old state refers to them."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_initial'),
        ('links', '0004_click_recorded_at'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='interstitialtemplate',
                    name='account',
                ),
                migrations.RemoveField(
                    model_name='trackingdomain',
                    name='account',
                ),
                migrations.AlterField(
                    model_name='messageclick',
                    name='account',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.account'),
                ),
                migrations.AlterField(
                    model_name='messageclick',
                    name='contact',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='message_clicks', to='core.contact'),
                ),
                migrations.AlterField(
                    model_name='messageclick',
                    name='message',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='message_clicks', to='core.message'),
                ),
                migrations.AlterField(
                    model_name='messageclick',
                    name='offer',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='core.offer'),
                ),
                migrations.AlterField(
                    model_name='messageshortlink',
                    name='account',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.account'),
                ),
                migrations.AlterField(
                    model_name='messageshortlink',
                    name='contact',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.contact'),
                ),
                migrations.AlterField(
                    model_name='messageshortlink',
                    name='message',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='links', to='core.message'),
                ),
                migrations.AlterField(
                    model_name='messageshortlink',
                    name='offer',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='links', to='core.offer'),
                ),
                migrations.AlterField(
                    model_name='messageshortlinkclick',
                    name='account',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.account'),
                ),
                migrations.AlterField(
                    model_name='messageshortlinkclick',
                    name='contact',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='core.contact'),
                ),
                migrations.AlterField(
                    model_name='messageshortlinkclick',
                    name='message',
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='raw_clicks', to='core.message'),
                ),
            ],
        ),
    ]
