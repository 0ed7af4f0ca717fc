"""The minting API's shapes for OpenAPI. Parsing itself is in links.mint_input (fast path)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core import bounds
from core.api_errors import ErrorOut


class ContactIn(serializers.Serializer):
    external_id = serializers.CharField(required=False, help_text="The platform's contact id.")
    phone = serializers.CharField(required=False, help_text="E.164, e.g. +14155550123.")
    email = serializers.EmailField(required=False)
    is_test = serializers.BooleanField(
        required=False,
        help_text="A tester: true or false sets the contact's flag (its clicks are stored as "
        "internal and never count); absent leaves it as it is.",
    )


class LinkIn(serializers.Serializer):
    url = serializers.URLField(required=False, help_text="http(s); optional when offer is set.")
    offer = serializers.CharField(required=False, help_text="Offer id or external id.")
    track = serializers.BooleanField(default=True, help_text="false: never rewritten.")


class MessageIn(serializers.Serializer):
    external_id = serializers.CharField(required=False, help_text="Idempotency key.")
    contact = ContactIn()
    channel = serializers.ChoiceField(choices=["sms", "email"], default="sms")
    body = serializers.CharField(
        help_text="SMS text or email HTML, at most 10,000 bytes and "
        f"{bounds.MAX_LINKS_PER_MESSAGE} tracked links."
    )
    sent_at = serializers.DateTimeField(
        required=False, help_text="From 2000-01-01 to 7 days ahead. Default: now."
    )
    list = serializers.CharField(required=False, help_text="Name or external id.")
    campaign = serializers.CharField(required=False, help_text="Name or external id.")
    creative = serializers.CharField(required=False, help_text="Name or external id.")
    links = serializers.DictField(child=LinkIn(), required=False, help_text='{"link1": {...}}')
    cost = serializers.CharField(
        required=False,
        help_text='What sending it cost, a decimal string ("0.0158"), 0 to '
        f"{bounds.MONEY_MAX}. Default: the account's rule (sms_rates by the contact's phone's "
        "country, else sms_segment_cost, times the segments; email_cost for email).",
    )
    holdout = serializers.BooleanField(
        default=False,
        help_text="true: the contact is in the campaign's holdout group and was not sent "
        "this message. Its links are checked but not minted; it is recorded for the lift "
        "report, costs nothing and is never a send.",
    )


class ContactRef(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()


class LinkOut(serializers.Serializer):
    name = serializers.CharField()
    link_id = serializers.CharField()
    short_url = serializers.URLField()
    destination = serializers.URLField()
    offer = serializers.IntegerField(allow_null=True)
    raw_clicks = serializers.IntegerField(required=False)


class MessageOut(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    contact = ContactRef()
    channel = serializers.CharField()
    sent_at = serializers.DateTimeField()
    body = serializers.CharField(help_text="The rewritten body.")
    segments = serializers.IntegerField(required=False, help_text="SMS only.")
    links = LinkOut(many=True)
    cost = serializers.CharField(
        help_text='What sending it cost, fixed at mint, to four places ("0.0079"); '
        '"0.0000" for a holdout.'
    )
    holdout = serializers.BooleanField(
        help_text="true: recorded as a holdout; body is the body as given and links is empty."
    )


class ClickOut(serializers.Serializer):
    """A raw click and what it came from (links.selectors.message_clicks)."""

    click_id = serializers.CharField()
    link_id = serializers.CharField()
    clicked_at = serializers.DateTimeField()
    is_bot = serializers.BooleanField()
    bot_reason = serializers.CharField(allow_blank=True)
    counted = serializers.BooleanField(help_text="The message's counted (first human) click.")
    device = serializers.ChoiceField(choices=["mobile", "tablet", "desktop", "other"])
    os = serializers.CharField(allow_blank=True, help_text='OS family ("iOS"), "" unknown.')
    browser = serializers.CharField(
        allow_blank=True, help_text='Browser family ("Mobile Safari"), "" unknown.'
    )
    country = serializers.CharField(
        allow_null=True, help_text="ISO 3166 alpha-2 of the IP, null unknown."
    )
    network = serializers.CharField(
        allow_blank=True, help_text='The IP\'s network (AS name, "COMCAST-7922"), "" unknown.'
    )
    variant = serializers.CharField(
        allow_blank=True, help_text='The A/B variant it was sent to; "" none or rule-routed.'
    )


class MessageDetailOut(MessageOut):
    clicked = serializers.BooleanField(help_text="Has a counted (first human) click.")
    raw_clicks = serializers.IntegerField()
    bot_clicks = serializers.IntegerField()
    first_click_at = serializers.DateTimeField(allow_null=True)
    converted = serializers.BooleanField(help_text="Has a click-credited conversion.")
    conversions = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=14, decimal_places=2)
    payout = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        help_text="What the approved click-credited conversions pay.",
    )
    clicks = ClickOut(many=True, help_text="The raw clicks in time order (the first 1,000).")


Error = ErrorOut


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "array",
                "description": "One entry per bad item.",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer", "description": "0-based, in the request"},
                        "errors": {
                            "type": "object",
                            "description": "field (dotted path) -> messages",
                        },
                    },
                    "required": ["index", "errors"],
                },
            },
            {
                "type": "object",
                "description": "The request as a whole is wrong (not a list, too many items).",
            },
        ]
    }
)
class BulkErrorsField(serializers.JSONField):
    pass


class BulkError(serializers.Serializer):
    detail = serializers.CharField()
    errors = BulkErrorsField(required=False)
