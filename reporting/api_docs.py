"""The read API's shapes for OpenAPI: conversions and a contact's journey.

The answers themselves are built by reporting.selectors (conversion_row, contact_journey);
these describe them, field for field, and the schema test (tests/trackly/test_api_schema.py)
checks every answer against them.
"""

from __future__ import annotations

from rest_framework import serializers

MONEY = {"help_text": "Decimal string, to the cent."}


class ConversionOut(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.CharField()
    txn_id = serializers.CharField(allow_null=True)
    approval = serializers.ChoiceField(choices=["approved", "pending", "rejected", "reversed"])
    revenue = serializers.CharField(**MONEY)
    payout = serializers.CharField(**MONEY)
    currency = serializers.CharField(help_text="ISO 4217.")
    occurred_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=["accepted", "pending"])
    attribution_type = serializers.ChoiceField(
        choices=["direct", "click_through", "view_through", "offer", "none"]
    )
    reason = serializers.CharField(allow_blank=True, help_text="Why unattributed, if so.")
    message_id = serializers.IntegerField(allow_null=True)
    contact_id = serializers.IntegerField(allow_null=True)
    offer_id = serializers.IntegerField(allow_null=True)
    campaign_id = serializers.IntegerField(allow_null=True)
    creative_id = serializers.IntegerField(allow_null=True)


class ConversionPage(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ConversionOut(many=True)


class JourneyContact(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    phone = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)


class JourneyEvent(ConversionOut):
    """A message received, a click, or a conversion: `type` says which, and which fields."""

    type = serializers.ChoiceField(choices=["message", "click", "conversion"])
    at = serializers.DateTimeField(required=False, help_text="message and click")
    external_id = serializers.CharField(required=False, allow_null=True, help_text="message")
    channel = serializers.CharField(required=False, help_text="message")
    campaign = serializers.CharField(required=False, allow_null=True, help_text="message")
    click_id = serializers.CharField(required=False, help_text="click")
    link_id = serializers.CharField(required=False, help_text="click")
    is_bot = serializers.BooleanField(required=False, help_text="click")
    bot_reason = serializers.CharField(required=False, allow_blank=True, help_text="click")
    counted = serializers.BooleanField(
        required=False, help_text="click: the contact's counted (first human) click"
    )
    device = serializers.ChoiceField(
        choices=["mobile", "tablet", "desktop", "other"], required=False, help_text="click"
    )
    os = serializers.CharField(required=False, allow_blank=True, help_text='click: "" unknown')
    browser = serializers.CharField(required=False, allow_blank=True, help_text='click: "" unknown')
    country = serializers.CharField(
        required=False, allow_null=True, help_text="click: ISO 3166 alpha-2, null unknown"
    )
    network = serializers.CharField(
        required=False, allow_blank=True, help_text='click: the IP\'s AS name, "" unknown'
    )
    variant = serializers.CharField(
        required=False, allow_blank=True, help_text='click: A/B variant, "" none or rule-routed'
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if name != "type":  # each kind of event carries only its own fields
                field.required = False


class JourneyOut(serializers.Serializer):
    contact = JourneyContact()
    total_revenue = serializers.CharField(**MONEY)
    events = JourneyEvent(many=True)
