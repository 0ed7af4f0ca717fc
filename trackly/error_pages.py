"""The app hosts' 400: a page (JSON under /api/) that names what was wrong with the request."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's handler400 (trackly.urls): a body Django could not read, among others.
    Django has logged it already, as the 400 it is ("Bad request (Unable to parse request
    body)")."""
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
