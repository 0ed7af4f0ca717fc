"""One meaning per name: a conversion's and a fraud flag's raw click is `raw_click`
(column `raw_click_id`); `click_id` is the public code a postback names. A rename in
place: no row is copied or lost."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("attribution", "0005_core_models"), ("links", "0007_short_link_raw_click")]

    operations = [
        migrations.RenameField("conversion", "click", "raw_click"),
        migrations.RenameField("fraudflag", "click", "raw_click"),
    ]
