"""The account's own settings (GET/PATCH /api/v1/account) and its postback token
(POST /api/v1/account/rotate-postback-token).

Read with a `config` or `read` key, changed only with `config`. The token is answered once,
when rotated; only its hash is kept, and no answer carries that either.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import bounds, costs
from core.api import UTM_TEMPLATE_HELP, utm_template_checked
from core.api_input import RefuseUnknownFields, no_fields_refuse
from core.authentication import account_of
from core.models import Account, ApiScope, validate_opt_out_patterns
from core.networks import networks_normalise
from core.services import account_postback_token_rotate


@extend_schema_field(
    {
        "type": "string",
        "description": "One pattern per line (a list of strings is accepted too), matched "
        "case-insensitively against whole URLs; '*' matches anything.",
    }
)
class OptOutPatternsField(serializers.CharField):
    """The model's text, one pattern a line; a JSON list of patterns is joined into it."""

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, list):
            if not all(isinstance(item, str) for item in data):
                self.fail("invalid")
            if any("\n" in item or "\r" in item for item in data):
                raise serializers.ValidationError("A pattern cannot contain a line break.")
            data = "\n".join(data)
        value = super().to_internal_value(data)
        try:
            validate_opt_out_patterns(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value


@extend_schema_field(
    {
        "type": "array",
        "items": {"type": "string", "example": "203.0.113.0/24"},
        "maxItems": bounds.MAX_INTERNAL_NETWORKS,
        "description": "The office's and testers' networks, IPv4 or IPv6 CIDR (a bare "
        "address is its own /32 or /128; host bits are cleared: 203.0.113.7/24 is stored "
        "as 203.0.113.0/24). Clicks from inside them are stored as internal and never count.",
    }
)
class InternalIpsField(serializers.Field):
    """A list of CIDR strings, normalised (core.networks); a 400 naming the bad entry."""

    def to_internal_value(self, data: Any) -> list[str]:
        try:
            return networks_normalise(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def to_representation(self, value: Any) -> list[str]:
        return list(value or [])


@extend_schema_field(
    {
        "type": "string",
        "example": "0.0079",
        "description": f"A decimal string, 0 to {bounds.MONEY_MAX}, kept to four places.",
    }
)
class CostField(serializers.Field):
    """A sending cost (core.costs.amount_parse): answered as a four-place string."""

    def to_internal_value(self, data: Any) -> Any:
        try:
            return costs.amount_parse(self.field_name, data)
        except bounds.OutOfBounds as exc:
            raise serializers.ValidationError(exc.message) from exc

    def to_representation(self, value: Any) -> str:
        return f"{value:.4f}"


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": {"type": "string", "example": "0.0079"},
        "example": {"US": "0.0079", "GB": "0.0350"},
        "maxProperties": bounds.MAX_SMS_RATES,
        "description": "What one SMS segment costs per country, by the ISO region of the "
        "contact's phone; a country not named pays sms_segment_cost.",
    }
)
class SmsRatesField(serializers.Field):
    """core.costs.sms_rates_parse: ISO regions to four-place amount strings."""

    def to_internal_value(self, data: Any) -> dict[str, str]:
        try:
            return costs.sms_rates_parse(data)
        except bounds.OutOfBounds as exc:
            raise serializers.ValidationError(exc.message) from exc

    def to_representation(self, value: Any) -> dict[str, str]:
        return {region: f"{Decimal(amount):.4f}" for region, amount in (value or {}).items()}


class AccountSettingsSerializer(RefuseUnknownFields, serializers.ModelSerializer):
    opt_out_patterns = OptOutPatternsField(required=False, allow_blank=True, trim_whitespace=False)
    internal_ips = InternalIpsField(required=False)
    utm_template = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=bounds.MAX_UTM_TEMPLATE_LENGTH,
        help_text=UTM_TEMPLATE_HELP + " A campaign's own template replaces it.",
    )
    sms_segment_cost = CostField(
        required=False,
        help_text="What one SMS segment costs where sms_rates names no rate for the contact's "
        "country. Fixed on each message at mint.",
    )
    sms_rates = SmsRatesField(required=False)
    email_cost = CostField(required=False, help_text="What one email costs to send.")
    has_postback_token = serializers.SerializerMethodField(
        help_text="Whether a postback token was ever issued (the token itself is shown only "
        "when rotated)."
    )

    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "time_zone",
            "currency",
            "default_click_window_days",
            "data_retention_days",
            "anonymize_ips",
            "link_retention_days",
            "opt_out_patterns",
            "require_postback_token",
            "has_postback_token",
            "internal_ips",
            "utm_template",
            "sms_segment_cost",
            "sms_rates",
            "email_cost",
        ]
        read_only_fields = ["id"]

    def validate_utm_template(self, value: str) -> str:
        return utm_template_checked(value)

    def get_has_postback_token(self, account: Account) -> bool:
        return bool(account.postback_token_hash)

    def validate_require_postback_token(self, value: bool) -> bool:
        try:
            self.instance.validate_postback_token_requirement(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The account as it would be, against the rule (Account.retention_uncovered),
        # the error on the window field when only the window was sent.
        changed = copy.copy(self.instance)
        for name in ("data_retention_days", "default_click_window_days"):
            if name in attrs:
                setattr(changed, name, attrs[name])
        if uncovered := changed.retention_uncovered():
            field = (
                "default_click_window_days"
                if "data_retention_days" not in attrs
                else "data_retention_days"
            )
            raise serializers.ValidationError({field: [uncovered]})
        return attrs

    def update(self, instance: Account, validated_data: dict[str, Any]) -> Account:
        for name, value in validated_data.items():
            setattr(instance, name, value)
        # Only the fields sent: a token rotated (or another PATCH saved) meanwhile is not
        # overwritten with this request's copy of the row. The save bumps the config
        # version, so the tracking domains' cached rule and token hash are read again; a
        # new time_zone marks the account's rollups for a rebuild (reporting's trigger on
        # trackly_account, as an admin's change does).
        instance.save(update_fields=list(validated_data))
        return instance


class AccountSettings(generics.RetrieveUpdateAPIView):
    """The requesting key's account. PATCH changes only the fields sent."""

    serializer_class = AccountSettingsSerializer
    read_scopes = (ApiScope.CONFIG, ApiScope.READ)
    write_scopes = (ApiScope.CONFIG,)
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self) -> Account:
        return account_of(self.request)


_TOKEN_RESPONSE = inline_serializer(
    "PostbackToken",
    fields={
        "postback_token": serializers.CharField(
            help_text="Shown this once; /conv takes it as `token`. The previous one stops working."
        )
    },
)


class PostbackTokenRotate(APIView):
    read_scopes: tuple[str, ...] = ()
    write_scopes = (ApiScope.CONFIG,)

    @extend_schema(request=None, responses={200: _TOKEN_RESPONSE})
    def post(self, request: Request) -> Response:
        no_fields_refuse(request)
        token = account_postback_token_rotate(account_of(request))
        response = Response({"postback_token": token})
        response["Cache-Control"] = "no-store"  # a secret: no cache keeps a copy
        return response
