"""One error shape for the whole API: {"detail": "...", "errors": {field: [messages]}}.

Fields are named by dotted path (`contact.phone`, `links.link1.url`), nested serializers'
errors included; a bulk request's are per item: {"errors": [{"index": 3, "errors": {...}}]}.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("core.api")


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found (or not yours).")
    elif isinstance(exc, RequestDataTooBig):
        # Django refuses the body unread (its Content-Length says too much); DRF alone
        # would leave it to Django's 400 page.
        exc = RequestTooLarge(
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes "
            "(DATA_UPLOAD_MAX_MEMORY_SIZE): nothing was done. Send it in smaller requests."
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        data = exc.detail
        response.data = {
            "detail": "Invalid request: see errors.",
            "errors": dotted(data) if isinstance(data, dict) else {"non_field_errors": data},
        }
    request = context.get("request")
    if response.status_code >= status.HTTP_400_BAD_REQUEST:
        logger.info(
            "api %s %s -> %s %s",
            getattr(request, "method", "?"),
            getattr(request, "path", "?"),
            response.status_code,
            response.data,
        )
    return response


class ErrorOut(serializers.Serializer):
    """The error body of every API answer of 400 and above, for the OpenAPI schema."""

    detail = serializers.CharField(help_text="What went wrong, for a person.")
    errors = serializers.JSONField(
        required=False,
        help_text="Field (dotted path) -> messages; in a bulk mint, a list of "
        '{"index", "errors"} per bad item.',
    )


@csrf_exempt  # it changes nothing; a POST to a wrong URL is a 404, not a CSRF page
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """An API URL that names nothing: JSON like every other API answer, never a page."""
    logger.info("api %s %s -> 404 no such endpoint", request.method, request.path)
    return JsonResponse({"detail": "No such API endpoint (see /api/v1/schema/)."}, status=404)


def dotted(errors: dict, prefix: str = "") -> dict[str, Any]:
    """Nested serializer errors ({"contact": {"phon": [...]}}) as {"contact.phon": [...]};
    a list field's items as `name[2]`."""
    flat: dict[str, Any] = {}
    for key, value in errors.items():
        if isinstance(key, int):
            name = f"{prefix}[{key}]"
        else:
            name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(dotted(value, name))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for index, item in enumerate(value):
                flat.update(dotted(item, f"{name}[{index}]"))
        else:
            flat[name] = value
    return flat
