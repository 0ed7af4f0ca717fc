"""Read endpoints that span apps: a message's detail, conversions, a contact's journey."""

from __future__ import annotations

import datetime as dt

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from links import api_docs
from links.selectors import message_click_summary
from links.services import message_result, primary_tracking_domain
from reporting import selectors
from trackly.authentication import account_of
from trackly.models import Contact, Message


class MessageDetail(APIView):
    @extend_schema(
        operation_id="messages_retrieve",
        responses={200: api_docs.MessageDetailOut, 404: api_docs.Error},
        description="The message, its links, its clicks and the revenue credited to it.",
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
        return Response(result)


_FILTERS = [
    OpenApiParameter(name, description=text)
    for name, text in [
        ("start", "occurred on or after this date (YYYY-MM-DD, UTC)"),
        ("end", "occurred on or before this date (YYYY-MM-DD, UTC)"),
        ("offer", "offer id"),
        ("campaign", "campaign id"),
        ("creative", "creative id"),
        ("message", "message id"),
        ("contact", "contact id"),
        ("status", "accepted | pending"),
        ("attribution", "direct | click_through | view_through | offer | none"),
        ("event", "event name"),
    ]
]


class ConversionList(APIView):
    @extend_schema(operation_id="conversions_list", parameters=_FILTERS)
    def get(self, request: Request) -> Response:
        params = request.query_params
        for field in ("offer", "campaign", "creative", "message", "contact"):
            value = params.get(field)
            if value and not (value.isascii() and value.isdigit() and len(value) < 19):
                return Response(
                    {"detail": "Invalid filter.", "errors": {field: ["Must be an id."]}}, status=400
                )
        for field in ("start", "end"):
            value = params.get(field)
            if value and not _is_date(value):
                return Response(
                    {
                        "detail": "Invalid filter.",
                        "errors": {field: ["Must be a date, YYYY-MM-DD."]},
                    },
                    status=400,
                )
        queryset = selectors.conversions_for(account_of(request), params)
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response([selectors.conversion_row(c) for c in page])


class ContactJourney(APIView):
    @extend_schema(operation_id="contacts_journey")
    def get(self, request: Request, pk: int) -> Response:
        contact = get_object_or_404(Contact, pk=pk, account=account_of(request))
        return Response(selectors.contact_journey(contact))


def _is_date(value: str) -> bool:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True
