"""The core models leave trackly's state: they are core's now (core 0001), on the same
tables, which stay."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('attribution', '0005_core_models'),
        ('links', '0005_core_models'),
        ('reporting', '0005_core_models'),
        ('trackly', '0004_hardening'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='contact',
                    name='account',
                ),
                migrations.RemoveField(
                    model_name='creative',
                    name='account',
                ),
                migrations.RemoveField(
                    model_name='message',
                    name='account',
                ),
                migrations.RemoveField(
                    model_name='membership',
                    name='account',
                ),
                migrations.RemoveField(
                    model_name='campaign',
                    name='account',
                ),
                migrations.RemoveField(
                    model_name='offer',
                    name='account',
                ),
                migrations.RemoveField(
                    model_name='sendinglist',
                    name='account',
                ),
                migrations.RemoveField(
                    model_name='creative',
                    name='campaign',
                ),
                migrations.RemoveField(
                    model_name='message',
                    name='campaign',
                ),
                migrations.RemoveField(
                    model_name='message',
                    name='contact',
                ),
                migrations.RemoveField(
                    model_name='message',
                    name='creative',
                ),
                migrations.RemoveField(
                    model_name='membership',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='message',
                    name='sending_list',
                ),
                migrations.RemoveField(
                    model_name='offer',
                    name='interstitial_template',
                ),
                migrations.RemoveField(
                    model_name='sendinglist',
                    name='default_interstitial',
                ),
                migrations.DeleteModel(
                    name='ApiKey',
                ),
                migrations.DeleteModel(
                    name='Account',
                ),
                migrations.DeleteModel(
                    name='Campaign',
                ),
                migrations.DeleteModel(
                    name='Contact',
                ),
                migrations.DeleteModel(
                    name='Creative',
                ),
                migrations.DeleteModel(
                    name='Membership',
                ),
                migrations.DeleteModel(
                    name='Message',
                ),
                migrations.DeleteModel(
                    name='Offer',
                ),
                migrations.DeleteModel(
                    name='SendingList',
                ),
            ],
        ),
    ]
