"""Error pages of the app hosts (dashboard, admin): a body too large is a 413, not a 400."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views import defaults


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: Django answers a SuspiciousOperation here, after logging it."""
    if isinstance(exception, RequestDataTooBig):
        page = render_to_string(
            "413.html", {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}, request=request
        )
        return HttpResponse(page, status=413)
    return defaults.bad_request(request, exception)
