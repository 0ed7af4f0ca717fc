"""The app hosts' 400: a page (JSON under /api/) that names what was wrong with the request;
a body too large is a 413."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's handler400 (trackly.urls): a body Django could not read, among others.
    Django has logged it already, as the 400 it is ("Bad request (Unable to parse request
    body)"). A body past DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 instead."""
    if isinstance(exception, RequestDataTooBig):
        page = render_to_string(
            "trackly/413.html", {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}, request=request
        )
        return HttpResponse(page, status=413)
    if isinstance(exception, MultiPartParserError):
        # e.g. multipart/form-data without a boundary: what is wrong is the client's.
        message = f"The form data could not be read: {exception}."
    else:
        message = "The request could not be read."
    return bad_request_page(request, None, message)


def bad_request_page(request: HttpRequest, param: str | None, message: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        errors = {param or "non_field_errors": [message]}
        return JsonResponse(
            {"detail": "Invalid request: see errors.", "errors": errors}, status=400
        )
    page = render_to_string("trackly/bad_request.html", {"param": param, "message": message})
    return HttpResponse(page, status=400)
