"""The conversion import API: POST /api/v1/conversions/import (a CSV body, queued) and
GET /api/v1/conversions/imports/<id> (its status and results). docs/imports.md."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from attribution.imports import ImportInvalid, conversion_import_create
from attribution.models import ConversionImport
from attribution.tasks import conversion_import_queue
from core import bounds
from core.api_errors import ErrorOut
from core.authentication import account_of
from core.models import ApiScope

CSV_TYPES = ("text/csv",)
BOOLEANS = {"true": True, "false": False}


class RejectedOut(serializers.Serializer):
    row = serializers.IntegerField(help_text="1: the first line after the header")
    reason = serializers.CharField()


class ImportQueuedOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    dry_run = serializers.BooleanField()


class ImportOut(ImportQueuedOut):
    rows = serializers.IntegerField(allow_null=True, help_text="data lines in the file")
    created = serializers.IntegerField(allow_null=True, help_text="null until done")
    updated = serializers.IntegerField(allow_null=True)
    unchanged = serializers.IntegerField(allow_null=True)
    rejected = RejectedOut(many=True)
    error = serializers.CharField(help_text="why it failed; empty otherwise")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


def import_data(job: ConversionImport) -> dict[str, Any]:
    """An import as the API (and the dashboard's refresh) shows it."""
    done = job.status == ConversionImport.Status.DONE

    def when(value: Any) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value else None

    return {
        "id": job.pk,
        "status": job.status,
        "dry_run": job.dry_run,
        "rows": job.rows,
        "created": job.created if done else None,
        "updated": job.updated if done else None,
        "unchanged": job.unchanged if done else None,
        "rejected": job.rejected if done else [],
        "error": job.error,
        "created_at": when(job.created_at),
        "finished_at": when(job.finished_at),
    }


def _dry_run(request: Request) -> bool:
    unknown = sorted(set(request.query_params) - {"dry_run"})
    if unknown:
        raise exceptions.ValidationError({unknown[0]: ["Unknown parameter."]})
    raw = request.query_params.get("dry_run", "false").strip().lower()
    if raw not in BOOLEANS:
        raise exceptions.ValidationError({"dry_run": ["Must be true or false."]})
    return BOOLEANS[raw]


class ConversionImportCreate(APIView):
    write_scopes = (ApiScope.CONFIG,)

    @extend_schema(
        operation_id="conversions_import",
        request={"text/csv": OpenApiTypes.STR},
        parameters=[
            OpenApiParameter(
                "dry_run", OpenApiTypes.BOOL, description="only count what it would do (false)"
            )
        ],
        responses={202: ImportQueuedOut, 400: ErrorOut, 413: ErrorOut, 415: ErrorOut},
        description="A CSV of conversions (columns txn_id, event, offer, click_id, link_id, "
        f"contact, revenue, payout, status, occurred_at; at most {bounds.MAX_IMPORT_ROWS:,} "
        f"rows and {bounds.MAX_IMPORT_BYTES // (1024 * 1024)} MiB), queued; follow it at "
        "GET /api/v1/conversions/imports/<id>. See docs/imports.md.",
    )
    def post(self, request: Request) -> Response:
        content_type = request.content_type.split(";")[0].strip().lower()
        if content_type not in CSV_TYPES:
            raise exceptions.UnsupportedMediaType(
                content_type or "(none)", detail="Send the file as text/csv (UTF-8)."
            )
        dry_run = _dry_run(request)
        body = request.body
        if len(body) > bounds.MAX_IMPORT_BYTES:
            raise _TooLarge()
        key = request.user.api_key
        try:
            job = conversion_import_create(
                account=account_of(request), body=body, dry_run=dry_run, actor=f"key {key.prefix}"
            )
        except ImportInvalid as exc:
            raise exceptions.ValidationError({exc.field: [exc.message]}) from None
        conversion_import_queue(job.pk)
        return Response({"id": job.pk, "status": job.status, "dry_run": job.dry_run}, status=202)


class _TooLarge(exceptions.APIException):
    status_code = 413
    default_detail = (
        f"The file is larger than {bounds.MAX_IMPORT_BYTES // (1024 * 1024)} MiB: split it."
    )
    default_code = "import_too_large"


class ConversionImportDetail(APIView):
    read_scopes = (ApiScope.READ, ApiScope.CONFIG)

    @extend_schema(
        operation_id="conversions_import_retrieve",
        responses={200: ImportOut, 404: ErrorOut},
        description="An import's status (queued, running, done, failed) and, once done, its "
        "counts and rejected rows.",
    )
    def get(self, request: Request, pk: int) -> Response:
        job = ConversionImport.objects.filter(account=account_of(request), pk=pk).first()
        if job is None:
            raise exceptions.NotFound("Not found (or not yours).")
        return Response(import_data(job))
