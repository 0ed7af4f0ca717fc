"""Read endpoints that span apps: a message's detail, conversions, a contact's journey,
and the reports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import HttpResponseBase
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param
from rest_framework.views import APIView

from attribution.models import Conversion
from core import bounds, replica
from core.authentication import account_of
from core.models import ApiScope, Contact, Message
from core.pagination import BoundedLimitOffsetPagination
from links import api_docs
from links.responses import message_result
from links.selectors import message_click_summary, message_clicks
from links.services import primary_tracking_domain
from reporting import api_docs as read_docs
from reporting import report_params, reports, selectors
from reporting.exports import report_csv_response
from reporting.metrics import (
    CLICK_ONLY_CLEARED,
    COLUMNS,
    COUNT_FIELDS,
    MONEY_FIELDS,
    PER_SEND_FIELDS,
    RATIO_FIELDS,
    present,
)


class MessageDetail(APIView):
    read_scopes = (ApiScope.MINT, ApiScope.READ)

    @extend_schema(
        operation_id="messages_retrieve",
        responses={200: api_docs.MessageDetailOut, 404: api_docs.Error},
        description="The message, its links, its clicks (each with its device, OS, browser, "
        "country, network and variant) and the revenue credited to it.",
    )
    def get(self, request: Request, pk: int) -> Response:
        account = account_of(request)
        message = get_object_or_404(
            Message.objects.select_related("contact").prefetch_related("links"),
            pk=pk,
            account=account,
        )
        result = message_result(
            message, primary_tracking_domain(account), list(message.links.all())
        )
        result.update(message_click_summary(message, result["links"]))
        result.update(selectors.message_conversion_summary(message))
        result["clicks"] = message_clicks(message)
        return Response(result)


_FILTERS = [
    OpenApiParameter(name, description=text)
    for name, text in [
        (
            "start",
            "occurred on or after this day (YYYY-MM-DD, in the account's time zone; "
            f"default: {bounds.REPORT_MAX_SPAN_DAYS:,} days up to end)",
        ),
        ("end", "occurred on or before this day (default: today)"),
        ("offer", "offer id"),
        ("campaign", "campaign id"),
        ("creative", "creative id"),
        ("message", "message id"),
        ("contact", "contact id"),
        ("status", "accepted | pending"),
        ("approval", "approved | pending | rejected | reversed"),
        ("attribution", "direct | click_through | view_through | offer | none"),
        ("event", "event name"),
    ]
]


_PAGING = [
    OpenApiParameter("limit", int, description="rows per page"),
    OpenApiParameter("offset", int, description="rows to skip"),
]


class ConversionList(APIView):
    read_scopes = (ApiScope.READ,)

    @extend_schema(
        operation_id="conversions_list",
        parameters=[*_FILTERS, *_PAGING],
        responses={200: read_docs.ConversionPage},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        for field in ("offer", "campaign", "creative", "message", "contact"):
            value = params.get(field)
            if value and not (value.isascii() and value.isdigit() and len(value) < 19):
                return Response(
                    {"detail": "Invalid filter.", "errors": {field: ["Must be an id."]}}, status=400
                )
        approval = params.get("approval")
        if approval and approval not in Conversion.Approval.values:
            message = f"Must be one of {', '.join(Conversion.Approval.values)}."
            return Response(
                {"detail": "Invalid filter.", "errors": {"approval": [message]}}, status=400
            )
        account = account_of(request)
        try:
            start, end = report_params.days_parse(params, today=report_params.local_today(account))
        except report_params.ReportParamError as exc:
            return Response(
                {"detail": "Invalid filter.", "errors": {exc.param: [exc.message]}}, status=400
            )
        queryset = selectors.conversions_for(account, params, start=start, end=end)
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        rows = [selectors.conversion_json(selectors.conversion_row(c)) for c in page]
        return paginator.get_paginated_response(rows)


class ContactJourney(APIView):
    read_scopes = (ApiScope.READ,)

    @extend_schema(
        operation_id="contacts_journey",
        responses={200: read_docs.JourneyOut},
        description="A contact's messages, clicks (with bot verdicts) and conversions in time "
        "order, and the revenue credited.",
    )
    def get(self, request: Request, pk: int) -> Response:
        contact = get_object_or_404(
            Contact, pk=pk, account=account_of(request), erased_at__isnull=True
        )
        return Response(selectors.contact_journey(contact))


class _JsonOrCsv(BaseContentNegotiation):
    """JSON always; `?format=csv` is the view's own business (a bad format is a 400
    naming it, not DRF's 404)."""

    def select_renderer(
        self, request: Request, renderers: list[Any], format_suffix: str | None = None
    ) -> tuple[Any, str]:
        return renderers[0], renderers[0].media_type

    def select_parser(self, request: Request, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None


_REPORT_PARAMETERS = [
    OpenApiParameter(
        "dimension", str, OpenApiParameter.PATH, enum=list(reports.DIMENSIONS),
        description="What one row is.",
    ),
    OpenApiParameter("start", OpenApiTypes.DATE, description="first day, inclusive, in the "
                     "account's time zone (messages: sent on or after); default: "
                     f"{bounds.REPORT_MAX_SPAN_DAYS:,} days up to end"),
    OpenApiParameter("end", OpenApiTypes.DATE, description="last day, inclusive; default: "
                     "today"),
    OpenApiParameter("campaign", int, description="campaign id"),
    OpenApiParameter("creative", int, description="creative id"),
    OpenApiParameter("offer", int, description="offer id (messages: those carrying a link "
                     "to it; elsewhere a message is a send of each offer it carries); "
                     "required by variants"),
    OpenApiParameter("list", int, description="sending list id"),
    OpenApiParameter("order", str, description="a column, '-' in front for descending, e.g. "
                     "-revenue"),
    OpenApiParameter("page", int, description="1-based"),
    OpenApiParameter("page_size", int, description=f"rows per page, at most "
                     f"{bounds.MAX_PAGE_SIZE} (default {reports.DEFAULT_PAGE_SIZE})"),
    OpenApiParameter("format", str, enum=["json", "csv"], description="csv: every row "
                     "(no paging) and a last 'total' line, the JSON's columns"),
]  # fmt: skip


def _figures() -> dict[str, serializers.Field]:
    return {
        **{
            f: serializers.IntegerField(allow_null=f in PER_SEND_FIELDS)
            for f in COUNT_FIELDS
            if f not in MONEY_FIELDS
        },
        **{
            f: serializers.DecimalField(
                max_digits=20, decimal_places=2, allow_null=f in CLICK_ONLY_CLEARED
            )
            for f in MONEY_FIELDS
        },
        **{
            f: serializers.DecimalField(max_digits=20, decimal_places=4, allow_null=True)
            for f in RATIO_FIELDS
        },
    }


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "nullable": True})
class _ReportKey(serializers.JSONField):
    """A row's key: the object's id, the day for `days`, the device, OS family, country or
    variant name for those reports, null for "No campaign", an unknown country and the like."""


_REPORT_ROWS = inline_serializer(
    "ReportRow",
    many=True,
    fields={
        "key": _ReportKey(
            help_text="the id (a date for days; mobile, tablet, desktop or other for devices; "
            "the OS family; ISO 3166 alpha-2 for countries; the variant name); null: none"
        ),
        "label": serializers.CharField(),
        "sent_at": serializers.DateTimeField(required=False, help_text="messages only"),
        "contact_id": serializers.IntegerField(required=False, help_text="messages only"),
        **_figures(),
    },
)
_REPORT_OUT = inline_serializer(
    "Report",
    fields={
        "dimension": serializers.CharField(),
        "filters": serializers.DictField(),
        "count": serializers.IntegerField(),
        "next": serializers.URLField(allow_null=True),
        "previous": serializers.URLField(allow_null=True),
        "results": _REPORT_ROWS,
        "totals": inline_serializer("ReportTotals", fields=_figures()),
    },
)


class ReportView(APIView):
    read_scopes = (ApiScope.READ,)
    content_negotiation_class = _JsonOrCsv

    @extend_schema(
        operation_id="reports_retrieve",
        parameters=_REPORT_PARAMETERS,
        responses={
            (200, "application/json"): _REPORT_OUT,
            (200, "text/csv"): OpenApiTypes.STR,
            400: api_docs.Error,
            404: api_docs.Error,
        },
        description="Sends, clicks, conversions and revenue per campaign, creative, offer, "
        "list, day, message, device, OS, country or A/B variant (of one offer: offer= is "
        "required), with a totals row. Served from rollups at most a minute behind the raw "
        "data. Money and ratios are decimal strings; a ratio over zero is null. On devices, "
        "os and countries, sends, cost and the figures made of them (click_rate, "
        "revenue_per_send, profit, cpa, roas, profit_per_send) are null: a send has no "
        "device. conversions, revenue and payout count approved conversions; pending ones "
        "are in pending_conversions and pending_revenue; rejected and reversed ones count "
        "nowhere. epc is payout per unique click (rpc: revenue per unique click).",
    )
    def get(self, request: Request, dimension: str) -> HttpResponseBase:
        # The report's reads on the replica when it may serve them (core.replica); the key
        # was looked up and its last use stamped on the primary, before get().
        return replica.read(account_of(request).pk, self._get, request, dimension)

    def _get(self, request: Request, dimension: str) -> HttpResponseBase:
        if dimension not in reports.DIMENSIONS:
            return Response(
                {"detail": f"No such report: use one of {', '.join(reports.DIMENSIONS)}."},
                status=404,
            )
        account, params = account_of(request), request.query_params
        try:
            filters = report_params.ReportFilters.from_params(
                params, today=report_params.local_today(account)
            )
            page = _positive_int(params, "page")
            page_size = _positive_int(params, "page_size")
            fmt = params.get("format") or "json"
            if fmt not in ("json", "csv"):
                raise report_params.ReportParamError("format", "Must be json or csv.")
            if fmt == "csv":
                return report_csv_response(account, dimension, filters, order=params.get("order"))
            result = reports.report(
                account,
                dimension,
                filters,
                order=params.get("order"),
                page=page or 1,
                page_size=page_size or reports.DEFAULT_PAGE_SIZE,
            )
        except report_params.ReportParamError as exc:
            detail = "Not found (or not yours)." if exc.status == 404 else "Invalid filter."
            return Response(
                {"detail": detail, "errors": {exc.param: [exc.message]}}, status=exc.status
            )
        url = request.build_absolute_uri()
        last_page = max(1, -(-result.count // result.page_size))
        return Response(
            {
                "dimension": dimension,
                "filters": filters.as_params(),
                "count": result.count,
                "next": replace_query_param(url, "page", result.page + 1)
                if result.page < last_page
                else None,
                "previous": replace_query_param(url, "page", result.page - 1)
                if result.page > 1
                else None,
                "results": [
                    {c: present(row.get(c), c) for c in result.columns} for row in result.rows
                ],
                "totals": {c: present(result.totals[c], c) for c in COLUMNS},
            }
        )


def _positive_int(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 10**9:
        raise report_params.ReportParamError(name, "Must be a positive integer.")
    return int(raw)
