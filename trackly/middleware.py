"""Host routing: which site a request is for, decided before anything else runs.

- `/healthz` answers 200 on every host (load balancers probe by IP).
- `/tls/ask` (Caddy's certificate question, trackly.tls) on the app hosts and `localhost`.
- A host in APP_HOSTS gets the dashboard, admin and API (trackly.urls).
- An active tracking domain gets only the tracking URLs (trackly.tracking).
- Any other host gets a plain 404, never an error page.
- Every answer not from an app host carries core.headers.TRACKING_HEADERS.
- On a tracking domain, PostgreSQL out of reach before anything was stored (the domain
  or link lookup, a postback's log row): a 503 that asks the client to retry
  (trackly.tracking.unavailable, core.errors), logged; never a 500.

And, on the app hosts, a query parameter holding a NUL is a 400 naming it
(QueryTextMiddleware).
"""

from __future__ import annotations

import codecs
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.handlers.exception import response_for_exception
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound

from core import text
from core.errors import DATABASE_DOWN, DatabaseUnavailable
from core.headers import TRACKING_HEADERS, headers_default, headers_set
from core.models import normalize_host
from links.domains import tracking_domain_by_host
from trackly import error_pages, tls, tracking

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
        if tls.is_ask(request.path, host, self.app_hosts):
            response = tls.ask(request)  # before SecurityMiddleware: never an HTTPS redirect
            headers_set(response, TRACKING_HEADERS)
            return response
        if host in self.app_hosts:
            return self.get_response(request)
        # Parameters are read as UTF-8, whatever charset a Content-Type claims: a network
        # sends nothing else, the postback log redacts what UTF-8 reads, and a declared
        # UTF-7 would let `+AHQ-oken` be read as `token` (or a NUL reach the database).
        # Tracking domains (and unknown hosts) skip the rest of the middleware, Django's
        # SecurityMiddleware included: their answers get their headers here, error
        # answers too (which Django would otherwise make after this returned).
        try:
            if request.encoding and codecs.lookup(request.encoding).name != "utf-8":
                # (Set only when another is declared: setting it reads the query at once.)
                request.encoding = "utf-8"
            response = self._tracking(request, host)
        except Exception as exc:
            response = response_for_exception(request, exc)
        headers_default(response, TRACKING_HEADERS)
        return response

    def _tracking(self, request: HttpRequest, host: str) -> HttpResponse:
        try:
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
            return tracking.database_unavailable(request, exc)


class QueryTextMiddleware:
    """A query parameter of the dashboard, admin or API holding a NUL character (`%00`),
    which no column can store or be compared with, is a 400 naming it (JSON under /api/),
    never a 500 in the query it would reach. Only for the app hosts: HostRoutingMiddleware
    answers the tracking domains before this runs.

    Django decodes a query in the charset its Content-Type declares (UTF-8 unless told):
    under UTF-7, `+2AA-` is a lone surrogate and `+AAA-` a NUL with no `%00` in sight, so
    every decoded parameter is looked at.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.META.get("QUERY_STRING"):
            for name, values in request.GET.lists():
                problem = next(filter(None, map(text.problem, [name, *values])), None)
                if problem is not None:
                    param = text.printable(name)
                    logger.info("%s %s: query parameter %r refused: %s",
                                request.method, request.path, param, problem)  # fmt: skip
                    return error_pages.bad_request_page(request, param, problem)
        return self.get_response(request)
