"""Host routing: which site a request is for, decided before anything else runs.

- `/healthz` answers 200 on every host (load balancers probe by IP).
- A host in APP_HOSTS gets the dashboard, admin and API (trackly.urls).
- An active tracking domain gets only the tracking URLs (trackly.tracking).
- Any other host gets a plain 404, never an error page.
- On a tracking domain, PostgreSQL out of reach where the answer needs it: a 503 that
  asks the client to retry (trackly.tracking.unavailable), logged; never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound

from links.domains import tracking_domain_by_host
from links.models import normalize_host
from trackly import tracking

logger = logging.getLogger(__name__)


class HostRoutingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.app_hosts = frozenset(settings.APP_HOSTS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            return HttpResponse("ok\n", content_type="text/plain")
        host = normalize_host(request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", ""))
        if host in self.app_hosts:
            return self.get_response(request)
        try:
            domain = tracking_domain_by_host(host)
            if domain is None:
                return HttpResponseNotFound("Not found\n", content_type="text/plain")
            return tracking.dispatch(request, domain)
        except (OperationalError, InterfaceError) as exc:
            logger.warning(
                "%s %r on %r: database unavailable (%s); answered 503",
                request.method, request.path, host, exc,
            )  # fmt: skip
            return tracking.unavailable(request)
