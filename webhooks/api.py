"""The webhooks API: `/api/v1/webhooks` (endpoints, their secret, a test event, the delivery
log, replay), all with a `config` key; and the pull API `/api/v1/events` (a `read` key).

Another account's endpoint is a 404 on every route. A secret is in the answer that makes it
(create, rotate-secret) and nowhere else; those answers are `Cache-Control: no-store`.
The rules are webhooks.services'; the reads webhooks.selectors'.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import bounds
from core.api_errors import ErrorOut as Error
from core.api_input import RefuseUnknownFields, no_fields_refuse
from core.authentication import account_of
from core.events import EVENT_TYPES, SUBSCRIBABLE, event_body
from core.models import ApiScope, WebhookEndpoint
from core.pagination import BoundedLimitOffsetPagination
from webhooks import selectors, services
from webhooks.models import WebhookDelivery

# Serializers ---------------------------------------------------------------------------


class _EventsField(serializers.ListField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            child=serializers.CharField(max_length=64),
            max_length=len(EVENT_TYPES) * 2,
            help_text=f"Event types to receive: any of {', '.join(SUBSCRIBABLE)}.",
            **kwargs,
        )


class WebhookCreateIn(RefuseUnknownFields):
    url = serializers.CharField(
        max_length=bounds.MAX_WEBHOOK_URL_LENGTH,
        help_text="Where events are POSTed: https, a public address.",
    )
    events = _EventsField()
    description = serializers.CharField(
        max_length=bounds.MAX_WEBHOOK_DESCRIPTION_LENGTH, required=False, allow_blank=True
    )


class WebhookUpdateIn(WebhookCreateIn):
    url = serializers.CharField(max_length=bounds.MAX_WEBHOOK_URL_LENGTH, required=False)
    events = _EventsField(required=False)
    is_enabled = serializers.BooleanField(
        required=False,
        help_text="false stops deliveries; true starts them again and clears why the "
        "endpoint was disabled.",
    )


class ReplayIn(RefuseUnknownFields):
    since = serializers.CharField(
        help_text="ISO 8601 with a time zone (2025-01-31T14:00:00Z): events logged since then "
        "are sent again."
    )


class FailuresOut(serializers.Serializer):
    window_hours = serializers.IntegerField()
    count = serializers.IntegerField(help_text="Attempts without a 2xx answer in the window.")
    last_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)


class WebhookOut(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField(allow_blank=True)
    is_enabled = serializers.BooleanField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField(allow_blank=True)
    failing_since = serializers.DateTimeField(
        allow_null=True, help_text="The first failure of the current run of failures."
    )
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True,
        help_text="After a rotation, until when the previous secret's signature is sent too.",
    )
    failures = FailuresOut(help_text="Failed attempts in the last 24 hours.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class WebhookWithSecretOut(WebhookOut):
    secret = serializers.CharField(help_text="The signing secret: shown this once; store it.")


class AttemptOut(serializers.Serializer):
    attempted_at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField()
    error = serializers.CharField(allow_blank=True)


class DeliveryOut(serializers.Serializer):
    id = serializers.IntegerField()
    webhook_id = serializers.CharField(help_text="The webhook-id header: the same on every try.")
    event_id = serializers.IntegerField()
    event_type = serializers.CharField()
    event_sequence = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=WebhookDelivery.Status.choices)
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    attempts_log = AttemptOut(
        many=True,
        help_text=f"The latest attempts (at most {bounds.MAX_DELIVERY_ATTEMPTS_SHOWN}), newest "
        "first.",
    )


class DeliveryPage(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = DeliveryOut(many=True)


class EventOut(serializers.Serializer):
    type = serializers.CharField()
    timestamp = serializers.CharField(help_text="ISO 8601, UTC, milliseconds.")
    data = serializers.DictField(help_text="The event's payload, with `sequence`.")


class EventPage(serializers.Serializer):
    results = EventOut(many=True)
    next = serializers.IntegerField(
        allow_null=True,
        help_text="The last sequence answered: pass it as `after` for the next page; null "
        "when there were none (ask again later with the same `after`).",
    )


def _endpoint_out(
    endpoint: WebhookEndpoint,
    failures: selectors.FailureSummary | None = None,
    *,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    now = now or timezone.now()
    if failures is None:
        failures = selectors.failure_summaries([endpoint.pk], now=now)[endpoint.pk]
    fields = {
        "id": endpoint.pk,
        "url": endpoint.url,
        "events": list(endpoint.events),
        "description": endpoint.description,
        "is_enabled": endpoint.is_enabled,
        "disabled_at": endpoint.disabled_at,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": endpoint.failing_since,
        "previous_secret_expires_at": selectors.previous_secret_expires_at(endpoint, now=now),
        "failures": {
            "window_hours": int(selectors.FAILURE_WINDOW.total_seconds() // 3600),
            "count": failures.count,
            "last_at": failures.last_at,
            "last_status_code": failures.last_status_code,
            "last_error": failures.last_error,
        },
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
    }
    return WebhookOut(fields).data


def _delivery_out(delivery: WebhookDelivery) -> dict[str, Any]:
    fields = {
        "id": delivery.pk,
        "webhook_id": delivery.msg_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event.type,
        "event_sequence": delivery.event.sequence,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "next_attempt_at": delivery.next_attempt_at,
        "delivered_at": delivery.delivered_at,
        "created_at": delivery.created_at,
        "attempts_log": getattr(delivery, "recent_attempts", []),
    }
    return DeliveryOut(fields).data


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


def _refused(exc: services.WebhookRefused) -> exceptions.APIException:
    if exc.status == status.HTTP_409_CONFLICT:
        return Conflict({"detail": exc.message, "errors": {exc.field: [exc.message]}})
    return exceptions.ValidationError({exc.field: [exc.message]})


def _with_secret(body: dict[str, Any], secret: str, code: int) -> Response:
    response = Response({**body, "secret": secret}, status=code)
    response["Cache-Control"] = "no-store"  # it carries a secret
    return response


# Endpoints -----------------------------------------------------------------------------


class WebhookViewSet(viewsets.GenericViewSet):
    """An account's webhook endpoints. PUT is not offered: PATCH changes what it names."""

    read_scopes = (ApiScope.CONFIG,)
    write_scopes = (ApiScope.CONFIG,)
    lookup_value_regex = "[0-9]+"
    # What each action takes (OPTIONS describes it; the answers are built by hand).
    serializer_class = WebhookCreateIn
    action_inputs: dict[str, type[serializers.Serializer]] = {
        "partial_update": WebhookUpdateIn,
        "replay": ReplayIn,
    }

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return self.action_inputs.get(self.action or "", self.serializer_class)

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema has no account
            return WebhookEndpoint.objects.none()
        return selectors.webhooks_of(account_of(self.request))

    @extend_schema(responses={200: WebhookOut(many=True)})
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        now = timezone.now()
        failures = selectors.failure_summaries([e.pk for e in page], now=now)
        return self.get_paginated_response(
            [_endpoint_out(e, failures[e.pk], now=now) for e in page]
        )

    @extend_schema(
        request=WebhookCreateIn,
        responses={201: WebhookWithSecretOut, 400: Error},
        description="Add an endpoint. The answer holds its signing secret, this once.",
    )
    def create(self, request: Request) -> Response:
        given = WebhookCreateIn(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            endpoint, secret = services.webhook_create(
                account=account_of(request), **given.validated_data
            )
        except services.WebhookRefused as exc:
            raise _refused(exc) from None
        return _with_secret(_endpoint_out(endpoint), secret, status.HTTP_201_CREATED)

    @extend_schema(responses={200: WebhookOut, 404: Error})
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(_endpoint_out(self.get_object()))

    @extend_schema(request=WebhookUpdateIn, responses={200: WebhookOut, 400: Error, 404: Error})
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        given = WebhookUpdateIn(data=request.data, partial=True)
        given.is_valid(raise_exception=True)
        try:
            endpoint = services.webhook_update(
                endpoint=endpoint, disabled_by="in the API", **given.validated_data
            )
        except services.WebhookRefused as exc:
            raise _refused(exc) from None
        return Response(_endpoint_out(endpoint))

    @extend_schema(responses={204: None, 404: Error})
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        services.webhook_delete(endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=None,
        responses={200: WebhookWithSecretOut, 404: Error},
        description="A new signing secret, in this answer only. For "
        "WEBHOOK_SECRET_OVERLAP_SECONDS (24 hours) deliveries are signed with the previous "
        "secret too (`previous_secret_expires_at`).",
    )
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str | None = None) -> Response:
        no_fields_refuse(request)
        endpoint, secret = services.webhook_secret_rotate(endpoint=self.get_object())
        return _with_secret(_endpoint_out(endpoint), secret, status.HTTP_200_OK)

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer(
                "WebhookTestQueued",
                fields={
                    "event_id": serializers.IntegerField(),
                    "type": serializers.CharField(),
                },
            ),
            404: Error,
            409: Error,
        },
        description="Queue a `webhook.test` event for this endpoint (whatever it subscribed "
        "to); its delivery shows in the log.",
    )
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str | None = None) -> Response:
        no_fields_refuse(request)
        try:
            event = services.webhook_test_send(endpoint=self.get_object())
        except services.WebhookRefused as exc:
            raise _refused(exc) from None
        return Response({"event_id": event.pk, "type": event.type}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status", enum=WebhookDelivery.Status.values, description="only these"
            ),
            OpenApiParameter("limit", int, description="rows per page"),
            OpenApiParameter("offset", int, description="rows to skip"),
        ],
        responses={200: DeliveryPage, 404: Error},
        description="The delivery log, newest first, each with its latest attempts.",
    )
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        wanted = request.query_params.get("status", "")
        if wanted and wanted not in WebhookDelivery.Status.values:
            raise exceptions.ValidationError(
                {"status": [f"One of: {', '.join(WebhookDelivery.Status.values)}."]}
            )
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(
            selectors.deliveries_of(endpoint, status=wanted or None), request, view=self
        )
        return paginator.get_paginated_response([_delivery_out(d) for d in page])

    @extend_schema(
        request=ReplayIn,
        responses={
            202: inline_serializer(
                "ReplayQueued",
                fields={
                    "deliveries": serializers.IntegerField(help_text="queued in all"),
                    "reset": serializers.IntegerField(help_text="existing ones sent again"),
                    "created": serializers.IntegerField(
                        help_text="made for events the endpoint had no delivery of"
                    ),
                },
            ),
            400: Error,
            404: Error,
            409: Error,
        },
        description="Send again every event logged since `since` that this endpoint "
        "subscribes to (same webhook-id; attempts start again from 0).",
    )
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str | None = None) -> Response:
        endpoint = self.get_object()
        given = ReplayIn(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            since = parse_datetime(given.validated_data["since"].strip())
        except ValueError:  # well formed, but no such day or time (February 30)
            since = None
        if since is None:
            raise exceptions.ValidationError(
                {"since": ["Must be an ISO 8601 time with a zone (2025-01-31T14:00:00Z)."]}
            )
        try:
            replay = services.webhook_replay(endpoint=endpoint, since=since)
        except services.WebhookRefused as exc:
            raise _refused(exc) from None
        body = {"deliveries": replay.deliveries, "reset": replay.reset, "created": replay.created}
        return Response(body, status=status.HTTP_202_ACCEPTED)


# Pull ----------------------------------------------------------------------------------


def _whole(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18 or not low <= int(raw) <= high:
        raise exceptions.ValidationError(
            {name: [f"Must be a whole number from {low:,} to {high:,}."]}
        )
    return int(raw)


class EventList(APIView):
    """The account's events in sequence order, for a receiver that pulls instead."""

    read_scopes = (ApiScope.READ,)

    @extend_schema(
        operation_id="events_list",
        parameters=[
            OpenApiParameter(
                "after", OpenApiTypes.INT, description="answer events past this sequence (0)"
            ),
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description=f"at most this many (default {bounds.EVENTS_PAGE_DEFAULT}, "
                f"at most {bounds.EVENTS_PAGE_MAX})",
            ),
        ],
        responses={200: EventPage},
        description="Every numbered event of the account past `after` (but webhook.test), "
        "ascending; bodies as webhooks send them.",
    )
    def get(self, request: Request) -> Response:
        after = _whole(request, "after", 0, low=0, high=10**18)
        limit = _whole(
            request, "limit", bounds.EVENTS_PAGE_DEFAULT, low=1, high=bounds.EVENTS_PAGE_MAX
        )
        events = selectors.events_after(account_of(request), after=after, limit=limit)
        return Response(
            {
                "results": [event_body(e) for e in events],
                "next": events[-1].sequence if events else None,
            }
        )
