"""CRUD for what an integration configures: offers, interstitials, lists, campaigns, creatives.

List, create, read and update only: deleting is an admin's decision, in Django admin.
Every queryset is scoped to the key's account, so another account's object is a 404.
A field a serializer does not take, or a read-only one, is refused by name
(core.api_input.RefuseUnknownFields, on AccountModelSerializer); URLs are stored and
answered as URIs (UriField).
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model, QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core import bounds, routing_rules, uris
from core.api_input import RefuseUnknownFields, no_fields_refuse
from core.authentication import account_of
from core.fields import UriField as UriModelField
from core.models import ApiScope, Campaign, Creative, InterstitialTemplate, Offer, SendingList
from core.services import sending_list_bot_detection_switch


class AccountScopedField(serializers.PrimaryKeyRelatedField):
    """A foreign key that only resolves to objects of the requesting account."""

    def get_queryset(self) -> QuerySet:
        return super().get_queryset().filter(account=account_of(self.context["request"]))


def validate_http_url(value: str) -> str:
    if value and not value.lower().startswith(("http://", "https://")):
        raise serializers.ValidationError("Must be an http or https URL.")
    return value


def money_field(**kwargs: Any) -> serializers.DecimalField:
    """A money input: from 0 to what a money column holds (core.bounds), else a 400
    naming the field."""
    return serializers.DecimalField(
        max_digits=bounds.MONEY_MAX_DIGITS,
        decimal_places=bounds.MONEY_DECIMAL_PLACES,
        min_value=0,
        **kwargs,
    )


class UriField(serializers.URLField):
    """A URL, converted from an IRI to the URI it is stored as (core.uris) before its
    validators (length included) see it."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if uris.has_raw_controls(value):
            raise serializers.ValidationError(
                "Must not hold spaces or control characters (percent-encode them)."
            )
        try:
            return uris.to_uri(value)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc


class RoutingField(serializers.Field):
    """A JSON value checked by core.routing_rules (`parse`); a 400 naming the field and,
    in its message, the entry and key at fault."""

    def __init__(self, parse: Any, **kwargs: Any) -> None:
        self.parse = parse
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        try:
            return self.parse(data)
        except routing_rules.RoutingInvalid as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def to_representation(self, value: Any) -> Any:
        return value


VariantsField = extend_schema_field(
    {
        "type": "array",
        "maxItems": bounds.MAX_OFFER_VARIANTS,
        "items": {
            "type": "object",
            "required": ["name", "url", "weight"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 64},
                "url": {"type": "string", "format": "uri"},
                "weight": {"type": "integer", "minimum": 0},
            },
        },
        "description": "A/B destinations. Each new link of the offer gets one, drawn by a "
        "stable hash of its contact and message over the weights of that moment (weights "
        "need not sum to 100; at least one above 0). A link whose variant is removed goes "
        "to destination_url.",
    }
)(RoutingField)
RulesField = extend_schema_field(
    {
        "type": "array",
        "maxItems": bounds.MAX_OFFER_RULES,
        "items": {
            "type": "object",
            "required": ["url"],
            "additionalProperties": False,
            "properties": {
                "device": {"type": "string", "enum": list(routing_rules.RULE_DEVICES)},
                "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                "language": {"type": "string", "pattern": "^[a-z]{2,8}$"},
                "url": {"type": "string", "format": "uri"},
            },
        },
        "description": "Routing rules, tried in order: the first whose conditions all hold "
        "sends the click to its url (ios includes iPadOS; language: the primary subtag of "
        "the click's highest-weighted Accept-Language tag). Else the link's variant, else "
        "destination_url.",
    }
)(RoutingField)


def utm_template_checked(value: str) -> str:
    """A UTM template as stored (core.routing_rules), else a 400 saying what is wrong."""
    try:
        return routing_rules.utm_template_parse(value)
    except routing_rules.RoutingInvalid as exc:
        raise serializers.ValidationError(str(exc)) from exc


UTM_TEMPLATE_HELP = (
    "A query string appended to every destination, e.g. utm_source=sms&utm_medium={channel}"
    "&utm_campaign={campaign}; macros {campaign}, {creative}, {list}, {channel}, {offer} "
    "(the names, URL-encoded). A parameter the destination already has wins."
)


class AccountModelSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    # A model's UriField gets the API's UriField when a serializer does not declare it.
    serializer_field_mapping = {
        **serializers.ModelSerializer.serializer_field_mapping,
        UriModelField: UriField,
    }

    def create(self, validated_data: dict[str, Any]) -> Model:
        validated_data["account"] = account_of(self.context["request"])
        return self._save(lambda: super(AccountModelSerializer, self).create(validated_data))

    def update(self, instance: Model, validated_data: dict[str, Any]) -> Model:
        return self._save(
            lambda: super(AccountModelSerializer, self).update(instance, validated_data)
        )

    def _save(self, write: Any) -> Model:
        # The unique constraints (name, external_id per account) are the truth under
        # concurrency; a clash becomes a 400 rather than a 500.
        try:
            with transaction.atomic():
                return write()
        except IntegrityError as exc:
            raise serializers.ValidationError(
                {"non_field_errors": ["An object with this name or external_id already exists."]}
            ) from exc


class InterstitialTemplateSerializer(AccountModelSerializer):
    og_image = UriField(required=False, allow_blank=True, validators=[validate_http_url])

    class Meta:
        model = InterstitialTemplate
        fields = [
            "id",
            "name",
            "title",
            "description",
            "cta_text",
            "og_title",
            "og_description",
            "og_image",
            "created_at",
        ]
        read_only_fields = ["created_at"]


class SendingListSerializer(AccountModelSerializer):
    default_interstitial = AccountScopedField(
        queryset=InterstitialTemplate.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = SendingList
        fields = [
            "id",
            "name",
            "external_id",
            "bot_detection_enabled",
            "default_interstitial",
            "scanner_window_seconds",
            "is_test",
            # Switching it applies to clicks judged from then on (attribution.bot_checks);
            # clicks already judged keep their verdicts.
            "datacenter_check",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def update(self, instance: SendingList, validated_data: dict[str, Any]) -> SendingList:
        was_enabled = instance.bot_detection_enabled
        instance = super().update(instance, validated_data)
        if instance.bot_detection_enabled != was_enabled:
            sending_list_bot_detection_switch(instance, instance.bot_detection_enabled)
        return instance


class CampaignSerializer(AccountModelSerializer):
    utm_template = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=bounds.MAX_UTM_TEMPLATE_LENGTH,
        help_text=UTM_TEMPLATE_HELP + " Replaces the account's template; blank: the account's.",
    )

    class Meta:
        model = Campaign
        fields = ["id", "name", "external_id", "utm_template", "created_at"]
        read_only_fields = ["created_at"]

    def validate_utm_template(self, value: str) -> str:
        return utm_template_checked(value)


class CreativeSerializer(AccountModelSerializer):
    campaign = AccountScopedField(queryset=Campaign.objects.all(), required=False, allow_null=True)

    class Meta:
        model = Creative
        fields = ["id", "name", "external_id", "campaign", "created_at"]
        read_only_fields = ["created_at"]


class OfferSerializer(AccountModelSerializer):
    destination_url = UriField(max_length=2000, validators=[validate_http_url])
    fallback_url = UriField(
        max_length=2000, required=False, allow_blank=True, validators=[validate_http_url]
    )
    interstitial_template = AccountScopedField(
        queryset=InterstitialTemplate.objects.all(), required=False, allow_null=True
    )
    default_payout = money_field(required=False)
    revenue_cap = money_field(
        required=False,
        allow_null=True,
        help_text="A postback reporting more revenue than this is refused (400) and logged; "
        "null: no cap.",
    )
    variants = VariantsField(routing_rules.variants_parse, required=False)
    rules = RulesField(routing_rules.rules_parse, required=False)

    class Meta:
        model = Offer
        fields = [
            "id",
            "name",
            "external_id",
            "destination_url",
            "click_param",
            "fallback_url",
            "status",
            "expires_at",
            "default_payout",
            "revenue_cap",
            "interstitial_mode",
            "interstitial_template",
            "click_window_days",
            "variants",
            "rules",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        mode = attrs.get("interstitial_mode", getattr(self.instance, "interstitial_mode", None))
        template = attrs.get(
            "interstitial_template", getattr(self.instance, "interstitial_template", None)
        )
        if mode == Offer.InterstitialMode.CUSTOM and template is None:
            raise serializers.ValidationError(
                {"interstitial_template": ["Required when interstitial_mode is 'custom'."]}
            )
        if "click_window_days" in attrs:
            account = account_of(self.context["request"])
            uncovered = account.retention_uncovered(
                offer_pk=getattr(self.instance, "pk", None),
                offer_window=attrs["click_window_days"],
            )
            if uncovered:
                raise serializers.ValidationError({"click_window_days": [uncovered]})
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Offer:
        offer = Offer(**validated_data)
        self.postback_secret = offer.rotate_postback_secret()
        validated_data["postback_secret_hash"] = offer.postback_secret_hash
        return super().create(validated_data)


class AccountViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    model: type[Model]
    # Configuration: read with a config or read key, changed only with config.
    read_scopes = (ApiScope.CONFIG, ApiScope.READ)
    write_scopes = (ApiScope.CONFIG,)

    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema has no account
            return self.model.objects.none()
        return self.model.objects.filter(account=account_of(self.request)).order_by("id")


class InterstitialTemplateViewSet(AccountViewSet):
    model = InterstitialTemplate
    serializer_class = InterstitialTemplateSerializer


class SendingListViewSet(AccountViewSet):
    model = SendingList
    serializer_class = SendingListSerializer


class CampaignViewSet(AccountViewSet):
    model = Campaign
    serializer_class = CampaignSerializer


class CreativeViewSet(AccountViewSet):
    model = Creative
    serializer_class = CreativeSerializer


_SECRET_RESPONSE = inline_serializer(
    "OfferWithSecret",
    fields={"postback_secret": serializers.CharField(help_text="Shown this once; store it.")},
)


class OfferViewSet(AccountViewSet):
    model = Offer
    serializer_class = OfferSerializer

    @extend_schema(responses={201: OfferSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        # The secret is only ever shown here (and on rotation): just its hash is stored.
        data = {**serializer.data, "postback_secret": serializer.postback_secret}
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: _SECRET_RESPONSE})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        no_fields_refuse(request)
        offer = self.get_object()
        secret = offer.rotate_postback_secret()
        offer.save(update_fields=["postback_secret_hash", "updated_at"])
        return Response({"postback_secret": secret})
