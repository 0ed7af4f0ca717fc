"""One conversion through the API: `GET /api/v1/conversions/<id>` (the conversion with its
adjustments, `read` scope) and `PATCH` (a person's correction of its approval or amounts,
`config` scope, made through attribution.adjustments and kept as an adjustment)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from attribution.adjustments import (
    AdjustmentInvalid,
    Change,
    Origin,
    adjustment_data,
    adjustments_of,
    conversion_adjust,
)
from attribution.conversion_events import RELATED, credited_click_ref
from attribution.models import Conversion, ConversionAdjustment
from core import bounds
from core.api import money_field
from core.api_errors import ErrorOut
from core.api_input import RefuseUnknownFields
from core.authentication import account_of
from core.models import ApiScope

FIGURES = ("approval", "revenue", "payout")
TOTAL = 'The new total (a decimal string such as "12.50"), never a delta.'


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def conversion_json(conversion: Conversion) -> dict[str, Any]:
    """A conversion as GET answers it: the conversion list's fields (reporting.selectors.
    conversion_row, money to the cent), then its adjustments, oldest first."""
    adjustments = adjustments_of([conversion.pk]).get(conversion.pk, [])
    return {
        "id": conversion.pk,
        "event": conversion.event,
        "txn_id": conversion.txn_id,
        "approval": conversion.approval,
        "revenue": f"{conversion.revenue:.2f}",
        "payout": f"{conversion.payout:.2f}",
        "currency": conversion.currency,
        "occurred_at": _iso(conversion.occurred_at),
        "received_at": _iso(conversion.received_at),
        "status": conversion.status,
        "attribution_type": conversion.attribution_type,
        "reason": conversion.unattributed_reason,
        "message_id": conversion.message_id,
        "contact_id": conversion.contact_id,
        "offer_id": conversion.offer_id,
        "campaign_id": conversion.campaign_id,
        "creative_id": conversion.creative_id,
        "click_id": (credited_click_ref(conversion) or {}).get("id"),
        "adjustments": [adjustment_data(a) for a in adjustments],
    }


class ConversionPatchIn(RefuseUnknownFields, serializers.Serializer):
    approval = serializers.ChoiceField(choices=Conversion.Approval.values, required=False)
    revenue = money_field(required=False, help_text=TOTAL)
    payout = money_field(required=False, help_text=TOTAL)
    reason = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=bounds.MAX_ADJUSTMENT_REASON_LENGTH,
        help_text="Why, as the adjustment keeps it.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not any(field in attrs for field in FIGURES):
            raise serializers.ValidationError(
                {"approval": ["Send at least one of approval, revenue, payout."]}
            )
        return attrs


class AdjustmentAmountOut(serializers.Serializer):
    before = serializers.CharField()
    after = serializers.CharField()
    change = serializers.CharField(help_text="after - before")


class AdjustmentApprovalOut(serializers.Serializer):
    before = serializers.CharField(help_text="approved, pending, rejected or reversed")
    after = serializers.CharField(help_text="approved, pending, rejected or reversed")


class AdjustmentOut(serializers.Serializer):
    """attribution.adjustments.adjustment_data, also in conversion.updated."""

    id = serializers.IntegerField()
    source = serializers.ChoiceField(choices=ConversionAdjustment.Source.values)
    reason = serializers.CharField(allow_blank=True)
    actor = serializers.CharField(
        allow_blank=True, help_text='"key <prefix>", "user <name>", or empty (a postback)'
    )
    approval = AdjustmentApprovalOut()
    revenue = AdjustmentAmountOut()
    payout = AdjustmentAmountOut()
    created_at = serializers.DateTimeField()


class ConversionDetailOut(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.CharField()
    txn_id = serializers.CharField(allow_null=True)
    approval = serializers.ChoiceField(choices=Conversion.Approval.values)
    revenue = serializers.CharField(help_text="The sale's value, to the cent.")
    payout = serializers.CharField(help_text="What the marketer earns, to the cent.")
    currency = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    received_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Conversion.Status.values)
    attribution_type = serializers.ChoiceField(choices=Conversion.AttributionType.values)
    reason = serializers.CharField(allow_blank=True, help_text="Why unattributed, if so.")
    message_id = serializers.IntegerField(allow_null=True)
    contact_id = serializers.IntegerField(allow_null=True)
    offer_id = serializers.IntegerField(allow_null=True)
    campaign_id = serializers.IntegerField(allow_null=True)
    creative_id = serializers.IntegerField(allow_null=True)
    click_id = serializers.CharField(allow_null=True, help_text="The credited click's id.")
    adjustments = AdjustmentOut(many=True, help_text="Oldest first.")


def _conversion(request: Request, pk: int) -> Conversion:
    return get_object_or_404(
        Conversion.objects.select_related(*RELATED), pk=pk, account=account_of(request)
    )


class ConversionDetail(APIView):
    read_scopes = (ApiScope.READ,)
    write_scopes = (ApiScope.CONFIG,)

    @extend_schema(
        operation_id="conversions_retrieve",
        responses={200: ConversionDetailOut, 404: ErrorOut},
        description="The conversion, its approval and amounts, and every adjustment made to "
        "them (postback, API or dashboard, import, reconciliation), oldest first.",
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(conversion_json(_conversion(request, pk)))

    @extend_schema(
        operation_id="conversions_partial_update",
        request=ConversionPatchIn,
        responses={200: ConversionDetailOut, 400: ErrorOut, 404: ErrorOut},
        description="A person's correction: the new approval and/or amounts (totals, not "
        "deltas), kept as an adjustment with the reason and the key, and sent as "
        "conversion.updated. One that changes nothing answers the conversion unchanged.",
    )
    def patch(self, request: Request, pk: int) -> Response:
        conversion = _conversion(request, pk)
        patch = ConversionPatchIn(data=request.data)
        patch.is_valid(raise_exception=True)
        fields = patch.validated_data
        change = Change(**{field: fields.get(field) for field in FIGURES})
        origin = Origin(
            source=ConversionAdjustment.Source.API,
            reason=fields.get("reason", ""),
            actor=f"key {request.user.api_key.prefix}",
        )
        try:
            conversion_adjust(conversion.pk, change, origin)
        except AdjustmentInvalid as exc:
            raise serializers.ValidationError({exc.field: [exc.message]}) from exc
        return Response(conversion_json(_conversion(request, pk)))
