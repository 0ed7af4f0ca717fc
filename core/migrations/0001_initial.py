"""The core models, taken over from the trackly and links apps with their tables.

State only: the tables (trackly_account, ..., links_trackingdomain,
links_interstitialtemplate) were made by trackly 0001-0004 and links 0001-0004 and keep
their names (each model's db_table), so no SQL runs, no row moves, and the raw SQL and
triggers that name them keep working. Their content types move with them, so the
permissions given to staff users and the admin's history keep pointing at them.
"""

import core.models
import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


# (app label, model) before this migration -> the core model it is now.
MOVED = [
    ("trackly", "account"),
    ("trackly", "membership"),
    ("trackly", "apikey"),
    ("trackly", "contact"),
    ("trackly", "sendinglist"),
    ("trackly", "campaign"),
    ("trackly", "creative"),
    ("trackly", "offer"),
    ("trackly", "message"),
    ("links", "trackingdomain"),
    ("links", "interstitialtemplate"),
]


def content_types_move(apps, schema_editor, backwards=False):
    """Relabel each moved model's content type, which keeps its id, so its permissions and
    admin log entries follow. (A fresh database has none yet: post_migrate makes them.)"""
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for old_label, model in MOVED:
        source, target = ("core", old_label) if backwards else (old_label, "core")
        if ContentType.objects.using(db).filter(app_label=target, model=model).exists():
            continue  # already made under the new label (migrated, then rolled back once)
        ContentType.objects.using(db).filter(app_label=source, model=model).update(
            app_label=target
        )


def content_types_move_back(apps, schema_editor):
    content_types_move(apps, schema_editor, backwards=True)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('contenttypes', '0002_remove_content_type_name'),
        ('trackly', '0004_hardening'),
        ('links', '0004_click_recorded_at'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Account',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                        ('is_active', models.BooleanField(default=True)),
                        ('time_zone', models.CharField(default='UTC', help_text='Report days are cut in this time zone.', max_length=64, validators=[core.models.validate_time_zone])),
                        ('currency', models.CharField(default='USD', help_text='ISO 4217 currency for postbacks that name none.', max_length=3, validators=[core.models.validate_currency])),
                        ('default_click_window_days', models.PositiveIntegerField(default=90, help_text='Conversions are credited to clicks at most this many days old, unless the offer sets its own window.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(3650)])),
                        ('data_retention_days', models.PositiveIntegerField(default=395, help_text='How long raw clicks and postback logs are kept.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(3650)])),
                        ('opt_out_patterns', models.TextField(blank=True, default='*unsubscribe*\n*opt-out*\n*optout*', help_text="One pattern per line, matched case-insensitively against whole URLs; '*' matches anything. Matching links are never rewritten.")),
                        ('bot_ip_fanout_contacts', models.PositiveIntegerField(default=5, help_text='One IP opening links of this many different contacts...')),
                        ('bot_ip_fanout_seconds', models.PositiveIntegerField(default=60, help_text='...within this many seconds is a scanner.')),
                        ('postback_token_hash', models.CharField(blank=True, editable=False, max_length=64)),
                        ('require_postback_token', models.BooleanField(default=True, help_text="On: /conv without the account's postback token is refused (403), and the pixel (which cannot carry a secret) records the offer's default payout, never the revenue it reports.")),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        'db_table': 'trackly_account',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='ApiKey',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(default='default', max_length=100)),
                        ('prefix', models.CharField(editable=False, max_length=8, unique=True)),
                        ('key_hash', models.CharField(editable=False, max_length=64)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('last_used_at', models.DateTimeField(blank=True, editable=False, null=True)),
                        ('revoked_at', models.DateTimeField(blank=True, null=True)),
                        ('scopes', models.JSONField(default=core.models.all_scopes, help_text='What the key may do: mint, read, config.')),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_keys', to='core.account')),
                    ],
                    options={
                        'verbose_name': 'API key',
                        'db_table': 'trackly_apikey',
                    },
                ),
                migrations.CreateModel(
                    name='Campaign',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                        ('external_id', models.CharField(blank=True, max_length=200, null=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='campaigns', to='core.account')),
                    ],
                    options={
                        'db_table': 'trackly_campaign',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='Contact',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('external_id', models.CharField(max_length=200)),
                        ('phone', models.CharField(blank=True, help_text='E.164, e.g. +14155550123', max_length=16)),
                        ('email', models.EmailField(blank=True, max_length=254)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='contacts', to='core.account')),
                    ],
                    options={
                        'db_table': 'trackly_contact',
                    },
                ),
                migrations.CreateModel(
                    name='Creative',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                        ('external_id', models.CharField(blank=True, max_length=200, null=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='creatives', to='core.account')),
                        ('campaign', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='creatives', to='core.campaign')),
                    ],
                    options={
                        'db_table': 'trackly_creative',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='InterstitialTemplate',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                        ('title', models.CharField(max_length=200)),
                        ('description', models.TextField(blank=True)),
                        ('cta_text', models.CharField(default='Continue', max_length=100, verbose_name='call-to-action text')),
                        ('og_title', models.CharField(blank=True, max_length=200, verbose_name='og:title')),
                        ('og_description', models.TextField(blank=True, verbose_name='og:description')),
                        ('og_image', models.URLField(blank=True, max_length=2000, verbose_name='og:image')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='interstitial_templates', to='core.account')),
                    ],
                    options={
                        'db_table': 'links_interstitialtemplate',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Membership',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('role', models.CharField(choices=[('owner', 'Owner'), ('admin', 'Admin'), ('member', 'Member'), ('viewer', 'Viewer (read-only)')], default='member', max_length=16)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='core.account')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'trackly_membership',
                    },
                ),
                migrations.CreateModel(
                    name='Offer',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                        ('external_id', models.CharField(blank=True, max_length=200, null=True)),
                        ('destination_url', models.URLField(help_text='May use the macros {click_id}, {link_id}, {message_id}, {contact_id}, {offer_id}, {campaign_id}, {creative_id}.', max_length=2000)),
                        ('click_param', models.CharField(default='click_id', help_text='Query parameter that carries the click id when the URL has no {click_id}.', max_length=64)),
                        ('fallback_url', models.URLField(blank=True, help_text='Where clicks go while the offer is paused or expired.', max_length=2000)),
                        ('status', models.CharField(choices=[('active', 'Active'), ('paused', 'Paused'), ('expired', 'Expired')], default='active', max_length=16)),
                        ('expires_at', models.DateTimeField(blank=True, null=True, validators=[core.models.validate_not_before_earliest])),
                        ('default_payout', models.DecimalField(decimal_places=4, default=Decimal('0'), max_digits=14, validators=[django.core.validators.MinValueValidator(0)])),
                        ('revenue_cap', models.DecimalField(blank=True, decimal_places=4, help_text='A postback reporting more revenue than this is refused (400) and logged. Blank: no cap.', max_digits=14, null=True, validators=[django.core.validators.MinValueValidator(0)])),
                        ('interstitial_mode', models.CharField(choices=[('none', 'None (redirect)'), ('list_default', "Sending list's default"), ('custom', 'Custom template')], default='none', max_length=16)),
                        ('postback_secret_hash', models.CharField(editable=False, max_length=64)),
                        ('click_window_days', models.PositiveIntegerField(blank=True, help_text="Blank: the account's default click window.", null=True, validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(3650)])),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='offers', to='core.account')),
                        ('interstitial_template', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='offers', to='core.interstitialtemplate')),
                    ],
                    options={
                        'db_table': 'trackly_offer',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='SendingList',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=200)),
                        ('external_id', models.CharField(blank=True, max_length=200, null=True)),
                        ('bot_detection_enabled', models.BooleanField(default=True, help_text="Off: bot verdicts are still recorded, but a bot's click can be the contact's counted first click.")),
                        ('scanner_window_seconds', models.PositiveIntegerField(default=3, help_text='Clicks this soon after the message was sent are carrier scanners.')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lists', to='core.account')),
                        ('default_interstitial', models.ForeignKey(blank=True, help_text="Shown for offers whose interstitial mode is 'list default'.", null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='core.interstitialtemplate')),
                    ],
                    options={
                        'verbose_name': 'sending list',
                        'db_table': 'trackly_sendinglist',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Message',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('external_id', models.CharField(blank=True, max_length=200, null=True)),
                        ('channel', models.CharField(choices=[('sms', 'SMS'), ('email', 'Email')], default='sms', max_length=8)),
                        ('body', models.TextField(help_text='The body as the sending platform gave it.')),
                        ('rewritten_body', models.TextField(help_text='The body with tracked links, as sent.')),
                        ('segments', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('sent_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='core.account')),
                        ('campaign', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='messages', to='core.campaign')),
                        ('contact', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='messages', to='core.contact')),
                        ('creative', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='messages', to='core.creative')),
                        ('sending_list', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='messages', to='core.sendinglist')),
                    ],
                    options={
                        'db_table': 'trackly_message',
                    },
                ),
                migrations.CreateModel(
                    name='TrackingDomain',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('host', models.CharField(help_text='The hostname alone, e.g. go.brand.com.', max_length=253, unique=True)),
                        ('https', models.BooleanField(default=True, help_text='Short URLs start with https://.')),
                        ('port', models.PositiveIntegerField(blank=True, help_text='Only for development hosts such as 127.0.0.1:8000.', null=True)),
                        ('fallback_url', models.URLField(blank=True, help_text='Unknown links, and paused offers with no fallback of their own, go here.', max_length=2000)),
                        ('is_active', models.BooleanField(default=True)),
                        ('is_primary', models.BooleanField(default=False, help_text='New short links use the primary active domain.')),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('account', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='tracking_domains', to='core.account')),
                    ],
                    options={
                        'db_table': 'links_trackingdomain',
                        'ordering': ['-is_primary', 'id'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='campaign',
                    constraint=models.UniqueConstraint(fields=('account', 'name'), name='campaign_unique_account_name'),
                ),
                migrations.AddConstraint(
                    model_name='campaign',
                    constraint=models.UniqueConstraint(condition=models.Q(('external_id__isnull', False)), fields=('account', 'external_id'), name='campaign_unique_account_external_id'),
                ),
                migrations.AddIndex(
                    model_name='contact',
                    index=models.Index(fields=['account', 'phone'], name='contact_account_phone'),
                ),
                migrations.AddIndex(
                    model_name='contact',
                    index=models.Index(fields=['account', 'email'], name='contact_account_email'),
                ),
                migrations.AddConstraint(
                    model_name='contact',
                    constraint=models.UniqueConstraint(fields=('account', 'external_id'), name='contact_unique_account_external_id'),
                ),
                migrations.AddConstraint(
                    model_name='creative',
                    constraint=models.UniqueConstraint(fields=('account', 'name'), name='creative_unique_account_name'),
                ),
                migrations.AddConstraint(
                    model_name='creative',
                    constraint=models.UniqueConstraint(condition=models.Q(('external_id__isnull', False)), fields=('account', 'external_id'), name='creative_unique_account_external_id'),
                ),
                migrations.AddConstraint(
                    model_name='interstitialtemplate',
                    constraint=models.UniqueConstraint(fields=('account', 'name'), name='interstitial_unique_account_name'),
                ),
                migrations.AddConstraint(
                    model_name='membership',
                    constraint=models.UniqueConstraint(fields=('user', 'account'), name='membership_unique_user_account'),
                ),
                migrations.AddConstraint(
                    model_name='offer',
                    constraint=models.UniqueConstraint(condition=models.Q(('external_id__isnull', False)), fields=('account', 'external_id'), name='offer_unique_account_external_id'),
                ),
                migrations.AddConstraint(
                    model_name='offer',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('interstitial_mode', 'custom'), _negated=True), ('interstitial_template__isnull', False), _connector='OR'), name='offer_custom_interstitial_has_template'),
                ),
                migrations.AddConstraint(
                    model_name='sendinglist',
                    constraint=models.UniqueConstraint(fields=('account', 'name'), name='list_unique_account_name'),
                ),
                migrations.AddConstraint(
                    model_name='sendinglist',
                    constraint=models.UniqueConstraint(condition=models.Q(('external_id__isnull', False)), fields=('account', 'external_id'), name='list_unique_account_external_id'),
                ),
                migrations.AddIndex(
                    model_name='message',
                    index=models.Index(fields=['account', 'sent_at'], name='message_account_sent_at'),
                ),
                migrations.AddIndex(
                    model_name='message',
                    index=models.Index(fields=['contact', 'sent_at'], name='message_contact_sent_at'),
                ),
                migrations.AddIndex(
                    model_name='message',
                    index=models.Index(fields=['campaign', 'sent_at'], name='message_campaign_sent_at'),
                ),
                migrations.AddConstraint(
                    model_name='message',
                    constraint=models.UniqueConstraint(condition=models.Q(('external_id__isnull', False)), fields=('account', 'external_id'), name='message_unique_account_external_id'),
                ),
            ],
        ),
        migrations.RunPython(content_types_move, content_types_move_back),
    ]
