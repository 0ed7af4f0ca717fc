"""GET /api/v1/reports/lift?campaign=<id>: a campaign's holdout lift (reporting.lift)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import replica
from core.api_errors import ErrorOut
from core.authentication import account_of
from core.models import ApiScope, Campaign
from reporting.lift import campaign_lift

_RATE = {"allow_null": True, "help_text": "Four places, a string; null when undefined."}


def _group(name: str) -> serializers.Serializer:
    return inline_serializer(
        name,
        fields={
            "contacts": serializers.IntegerField(),
            "conversions": serializers.IntegerField(help_text="Contacts that converted."),
            "conversion_rate": serializers.CharField(**_RATE),
            "revenue_per_contact": serializers.CharField(allow_null=True),
        },
    )


_INTERVAL = serializers.ListField(
    child=serializers.CharField(allow_null=True), min_length=2, max_length=2
)
_LIFT_OUT = inline_serializer(
    "LiftReport",
    fields={
        "treated": _group("LiftTreated"),
        "holdout": _group("LiftHoldout"),
        "lift": inline_serializer(
            "Lift",
            fields={
                "absolute": serializers.CharField(**_RATE),
                "relative": serializers.CharField(**_RATE),
                "absolute_ci95": _INTERVAL,
                "relative_ci95": _INTERVAL,
            },
        ),
        "incremental_conversions": serializers.CharField(allow_null=True),
        "incremental_revenue": serializers.CharField(allow_null=True),
    },
)


class LiftReport(APIView):
    read_scopes = (ApiScope.READ,)

    @extend_schema(
        operation_id="reports_lift",
        parameters=[OpenApiParameter("campaign", int, required=True, description="campaign id")],
        responses={200: _LIFT_OUT, 400: ErrorOut, 404: ErrorOut},
        description="The campaign's treated contacts (sent a message of it) against its "
        "holdout contacts (minted with holdout: true, never sent it): each group's "
        "conversion rate and revenue per contact, the absolute lift with its Wald 95% "
        "interval, the relative lift with its Katz log 95% interval, and the increments. "
        "See docs/holdout.md.",
    )
    def get(self, request: Request) -> Response:
        # The report's reads on the replica when it may serve them (core.replica).
        return replica.read(account_of(request).pk, self._get, request)

    def _get(self, request: Request) -> Response:
        account = account_of(request)
        raw = request.query_params.get("campaign") or ""
        unknown = sorted(set(request.query_params) - {"campaign"})
        if unknown:
            return _error(400, "Invalid filter.", unknown[0], "Not a parameter of this report.")
        if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 2**63:
            return _error(400, "Invalid filter.", "campaign", "Required: a campaign id.")
        campaign = Campaign.objects.filter(pk=int(raw), account=account).first()
        if campaign is None:
            return _error(
                404, "Not found (or not yours).", "campaign", f"No campaign {raw} in this account."
            )
        lift = campaign_lift(campaign)
        if lift is None:
            return Response({"detail": "The lift report needs PostgreSQL."}, status=501)
        return Response(lift)


def _error(status: int, detail: str, field: str, message: str) -> Response:
    return Response({"detail": detail, "errors": {field: [message]}}, status=status)
