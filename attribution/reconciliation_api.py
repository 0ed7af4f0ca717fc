"""The reconciliations API: upload a network's conversion report to compare
(POST /api/v1/reconciliations), read one or the list, its disputes CSV, and restate it.
The work is attribution.reconciliation's; these views parse the request and answer."""

from __future__ import annotations

import csv
import io

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from attribution import reconciliation as recon
from attribution.models import Reconciliation
from core import bounds
from core.api_errors import ErrorOut, RequestTooLarge
from core.authentication import account_of
from core.models import ApiScope
from core.pagination import BoundedLimitOffsetPagination

# What a network's CSV may be sent as (spreadsheets and curl disagree).
CSV_TYPES = ("text/csv", "text/plain", "application/csv", "application/octet-stream")
CREATE_PARAMS = {"preset", "offer", "start", "end", "map", "filename"}


def actor_of(request: Request) -> str:
    return f"key {request.user.api_key.prefix}"


def _invalid(exc: recon.ReconciliationInvalid) -> Response:
    return Response(
        {"detail": exc.message, "errors": {exc.field: [exc.message]}}, status=exc.status
    )


# Shapes, for the OpenAPI schema --------------------------------------------------------


class _Money(serializers.Serializer):
    revenue = serializers.CharField(allow_null=True)
    payout = serializers.CharField(allow_null=True)


class _NetworkSide(_Money):
    approval = serializers.CharField()
    status = serializers.CharField(help_text="As the network wrote it.")


class _TracklySide(_Money):
    approval = serializers.CharField(allow_null=True)


class RowOut(serializers.Serializer):
    line = serializers.IntegerField(allow_null=True, help_text="In the file; null: Trackly's.")
    txn_id = serializers.CharField(allow_null=True)
    click_id = serializers.CharField(allow_null=True)
    offer_id = serializers.IntegerField(allow_null=True)
    conversion_id = serializers.IntegerField(allow_null=True)
    occurred_at = serializers.DateTimeField(allow_null=True)
    network = _NetworkSide(allow_null=True, help_text="null: missing at the network.")
    trackly = _TracklySide(allow_null=True, help_text="null: missing in Trackly.")
    restated = serializers.BooleanField()


class BucketOut(serializers.Serializer):
    count = serializers.IntegerField()
    total = _Money(help_text="The network's amounts; Trackly's for missing_at_network.")
    rows = RowOut(many=True, required=False)
    truncated = serializers.BooleanField(
        required=False, help_text=f"More than {recon.ROWS_SHOWN} rows: the disputes CSV has all."
    )


class _Rejected(serializers.Serializer):
    line = serializers.IntegerField()
    reason = serializers.CharField()


class _RejectedLines(serializers.Serializer):
    count = serializers.IntegerField()
    lines = _Rejected(many=True)


class ReconciliationOut(serializers.Serializer):
    id = serializers.IntegerField()
    preset = serializers.ChoiceField(choices=Reconciliation.Preset.values)
    columns = serializers.DictField(child=serializers.CharField())
    offers = serializers.ListField(child=serializers.IntegerField())
    start = serializers.DateField()
    end = serializers.DateField()
    filename = serializers.CharField()
    created_at = serializers.DateTimeField()
    restated_at = serializers.DateTimeField(allow_null=True)
    matched = BucketOut()
    amount_differs = BucketOut()
    status_differs = BucketOut()
    missing_in_trackly = BucketOut()
    missing_at_network = BucketOut()
    rejected = _RejectedLines()


class ReconciliationPage(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ReconciliationOut(many=True)


class RestateOut(serializers.Serializer):
    adjusted = serializers.IntegerField()
    created = serializers.IntegerField()
    skipped = _Rejected(many=True)


_CREATE_PARAMETERS = [
    OpenApiParameter("preset", str, enum=list(recon.PRESETS), description="The file's "
                     "columns: tune, everflow or generic (the import's); default generic."),
    OpenApiParameter("offer", int, many=True, required=True, description="An offer compared "
                     f"(repeatable, at most {bounds.MAX_RECONCILIATION_OFFERS})."),
    OpenApiParameter("start", OpenApiTypes.DATE, required=True, description="First local day."),
    OpenApiParameter("end", OpenApiTypes.DATE, required=True, description="Last local day."),
    OpenApiParameter("map", str, many=True, description="field:Column, overriding the "
                     f"preset's column of a field ({', '.join(recon.FIELDS)})."),
    OpenApiParameter("filename", str, description="The file's name, kept for people."),
]  # fmt: skip


# Views ---------------------------------------------------------------------------------


class ReconciliationList(APIView):
    read_scopes = (ApiScope.READ, ApiScope.CONFIG)
    write_scopes = (ApiScope.CONFIG,)

    @extend_schema(
        operation_id="reconciliations_list",
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("offset", int)],
        responses={200: ReconciliationPage, 400: ErrorOut},
        description="The account's reconciliations, newest first (counts and totals; the "
        "rows are on each one's own URL).",
    )
    def get(self, request: Request) -> Response:
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(
            recon.reconciliations_of(account_of(request)), request, view=self
        )
        return paginator.get_paginated_response(
            [recon.reconciliation_data(r, rows=False) for r in page]
        )

    @extend_schema(
        operation_id="reconciliations_create",
        parameters=_CREATE_PARAMETERS,
        request={"text/csv": OpenApiTypes.STR},
        responses={201: ReconciliationOut, 400: ErrorOut, 404: ErrorOut, 413: ErrorOut,
                   415: ErrorOut},
        description="Compare a network's conversion report (the CSV body, at most "
        f"{bounds.MAX_IMPORT_BYTES // (1024 * 1024)} MiB) with the offers' conversions over "
        "the days. docs/reconciliation.md.",
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        params = request.query_params
        unknown = sorted(set(params) - CREATE_PARAMS)
        if unknown:
            raise serializers.ValidationError({unknown[0][:60]: ["Unknown parameter."]})
        media_type = request.content_type.split(";")[0].strip().lower()
        if media_type not in CSV_TYPES:
            raise exceptions.UnsupportedMediaType(
                media_type, f"Send the CSV as text/csv (not {media_type[:60]!r})."
            )
        length = request.META.get("CONTENT_LENGTH") or "0"
        if not length.isdigit() or int(length) > bounds.MAX_IMPORT_BYTES:
            raise RequestTooLarge(
                f"A network's file may be at most {bounds.MAX_IMPORT_BYTES:,} bytes; split it."
            )
        body = request.body
        if len(body) > bounds.MAX_IMPORT_BYTES:
            raise RequestTooLarge(
                f"A network's file may be at most {bounds.MAX_IMPORT_BYTES:,} bytes; split it."
            )
        account = account_of(request)
        try:
            columns = recon.columns_for(
                (params.get("preset") or Reconciliation.Preset.GENERIC).strip(),
                params.getlist("map"),
            )
            offers = recon.offers_check(account, params.getlist("offer"))
            start, end = recon.days_check(account, params.get("start"), params.get("end"))
            reconciliation = recon.reconciliation_create(
                account=account, preset=(params.get("preset") or "generic").strip(),
                offers=offers, start=start, end=end, columns=columns, body=body,
                actor=actor_of(request),
                filename=params.get("filename", "").replace("\x00", ""),
            )  # fmt: skip
        except recon.ReconciliationInvalid as exc:
            return _invalid(exc)
        return Response(recon.reconciliation_data(reconciliation), status=status.HTTP_201_CREATED)


class ReconciliationDetail(APIView):
    read_scopes = (ApiScope.READ, ApiScope.CONFIG)

    @extend_schema(
        operation_id="reconciliations_retrieve",
        responses={200: ReconciliationOut, 404: ErrorOut},
    )
    def get(self, request: Request, pk: int) -> Response:
        reconciliation = get_object_or_404(Reconciliation, pk=pk, account=account_of(request))
        return Response(recon.reconciliation_data(reconciliation))


class ReconciliationDisputes(APIView):
    read_scopes = (ApiScope.READ, ApiScope.CONFIG)

    @extend_schema(
        operation_id="reconciliations_disputes",
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The rows to "
                                               "dispute: missing in Trackly, amounts or "
                                               "status differing."),
            404: ErrorOut,
        },
    )  # fmt: skip
    def get(self, request: Request, pk: int) -> HttpResponse:
        reconciliation = get_object_or_404(Reconciliation, pk=pk, account=account_of(request))
        return disputes_response(reconciliation)


class ReconciliationRestate(APIView):
    write_scopes = (ApiScope.CONFIG,)

    @extend_schema(
        operation_id="reconciliations_restate",
        request=None,
        responses={200: RestateOut, 404: ErrorOut},
        description="Apply the network's figures to the rows that differ and create the "
        "ones missing in Trackly (idempotent). Conversions missing at the network are left "
        "as they are.",
    )
    def post(self, request: Request, pk: int) -> Response:
        account = account_of(request)
        get_object_or_404(Reconciliation, pk=pk, account=account)
        result = recon.reconciliation_restate(
            account=account, reconciliation_id=pk, actor=actor_of(request)
        )
        return Response(result)


def disputes_response(reconciliation: Reconciliation) -> HttpResponse:
    """The disputes CSV as a download (the API's and the dashboard's)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(recon.dispute_lines(reconciliation))
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="reconciliation-{reconciliation.pk}-disputes.csv"'
    )
    return response
