"""Host routing: which site a request is for, decided before anything else runs.

- `/healthz` answers 200 on every host (load balancers probe by IP).
- A host in APP_HOSTS gets the dashboard, admin and API (trackly.urls).
- An active tracking domain gets only the tracking URLs (trackly.tracking).
- Any other host gets a plain 404, never an error page.
- Every answer not from an app host carries trackly.headers.TRACKING_HEADERS.
- On a tracking domain, PostgreSQL out of reach before anything was stored (the domain
  or link lookup, a postback's log row): a 503 that asks the client to retry
  (trackly.tracking.unavailable, trackly.errors), logged; never a 500.

And, on the app hosts, a query parameter holding a NUL is a 400 naming it
(QueryTextMiddleware).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound

from links.domains import tracking_domain_by_host
from links.models import normalize_host
from trackly import error_pages, text, tracking
from trackly.errors import DATABASE_DOWN, DATABASE_DOWN_SEEN, DatabaseUnavailable
from trackly.headers import TRACKING_HEADERS, headers_default, headers_set

logger = logging.getLogger(__name__)


class HostRoutingMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.app_hosts = frozenset(settings.APP_HOSTS)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == "/healthz":
            response = HttpResponse("ok\n", content_type="text/plain")
            headers_set(response, TRACKING_HEADERS)  # on every host: SecurityMiddleware is later
            return response
        host = normalize_host(request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", ""))
        if host in self.app_hosts:
            return self.get_response(request)
        # Tracking domains (and unknown hosts) skip the rest of the middleware, Django's
        # SecurityMiddleware included: their answers get their headers here.
        response = self._tracking(request, host)
        headers_default(response, TRACKING_HEADERS)
        return response

    def _tracking(self, request: HttpRequest, host: str) -> HttpResponse:
        try:
            if request.META.get(DATABASE_DOWN_SEEN):
                raise DatabaseUnavailable("the redirect's front door found it out of reach")
            try:
                domain = tracking_domain_by_host(host)
            except DATABASE_DOWN as exc:
                raise DatabaseUnavailable from exc
            if domain is None:
                return HttpResponseNotFound("Not found\n", content_type="text/plain")
            # Only what failed before it stored anything raises DatabaseUnavailable; any
            # other database error stays a 500.
            return tracking.dispatch(request, domain)
        except DatabaseUnavailable as exc:
            cause = exc.__cause__ or exc
            logger.warning(
                "%s %r on %r: database unavailable (%s: %s); answered 503",
                request.method, request.path, host, type(cause).__name__, cause,
            )  # fmt: skip
            return tracking.unavailable(request)


class QueryTextMiddleware:
    """A query parameter of the dashboard, admin or API holding a NUL character (`%00`),
    which no column can store or be compared with, is a 400 naming it (JSON under /api/),
    never a 500 in the query it would reach. Only for the app hosts: HostRoutingMiddleware
    answers the tracking domains before this runs.

    (A query string cannot carry a lone surrogate: Django decodes it with errors="replace".)
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query or "\x00" in query:
            for name, values in request.GET.lists():
                problem = next(filter(None, map(text.problem, [name, *values])), None)
                if problem is not None:
                    param = text.printable(name)
                    logger.info("%s %s: query parameter %r refused: %s",
                                request.method, request.path, param, problem)  # fmt: skip
                    return error_pages.bad_request_page(request, param, problem)
        return self.get_response(request)
