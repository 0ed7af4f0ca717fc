"""One error shape for the whole API: {"detail": "...", "errors": {field: [messages]}}."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger("trackly.api")


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
            "errors": data if isinstance(data, dict) else {"non_field_errors": data},
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
