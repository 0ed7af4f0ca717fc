"""What a tracking domain serves: /<link_id>, /conv, /conv/offer, /pixel/<link_id>.gif, and
the app-links files /.well-known/apple-app-site-association and /.well-known/assetlinks.json
(links.app_links).

Dispatched straight from trackly.middleware.HostRoutingMiddleware: tracking requests skip
sessions, CSRF and auth (they carry no cookie and set none; networks POST without CSRF).
Lives in trackly because it routes to both links (the redirect) and attribution.
"""

from __future__ import annotations

import logging
import re

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from attribution import views as postbacks
from core.errors import DATABASE_DOWN, DatabaseUnavailable
from core.headers import TRACKING_HEADERS, headers_default
from core.models import normalize_host
from links import app_links, redirect
from links.domains import DomainInfo

logger = logging.getLogger(__name__)
POSTBACK_PATHS = ("/conv", "/conv/", "/conv/offer", "/conv/offer/")
PIXEL_RE = re.compile(r"^/pixel/([^/]+)\.gif$")
# How long a client is asked to wait when the database is out of reach.
RETRY_AFTER_SECONDS = 5


def dispatch(request: HttpRequest, domain: DomainInfo) -> HttpResponse:
    path = request.path_info
    if path in POSTBACK_PATHS[:2]:
        return postbacks.conv(request, domain)
    if path in POSTBACK_PATHS[2:]:
        return postbacks.conv_offer(request, domain)
    pixel = PIXEL_RE.match(path)
    if pixel:
        return postbacks.pixel(request, domain, pixel.group(1))
    if path in app_links.WELL_KNOWN:
        try:
            return app_links.well_known(request, domain, path)
        except DATABASE_DOWN as exc:
            raise DatabaseUnavailable from exc  # a read only: nothing stored
    # (Postbacks answer their own 413, logged in the postback log.)
    if redirect.request_too_large(request.META):
        return redirect.too_large(request)
    try:
        return redirect.redirect(request, domain, path[1:])
    except DATABASE_DOWN as exc:
        # Only the lookups reach the database before the click is stored (its direct
        # write catches its own errors): nothing of this tap is stored.
        raise DatabaseUnavailable from exc


def database_unavailable(request: HttpRequest, exc: DatabaseUnavailable) -> HttpResponse:
    """The 503 of a tracking request PostgreSQL failed before anything was stored, logged:
    from trackly.middleware, or from the redirect's front door (trackly.wsgi)."""
    cause = exc.__cause__ or exc
    host = normalize_host(request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", ""))
    logger.warning(
        "%s %r on %r: database unavailable (%s: %s); answered 503",
        request.method, request.path, host, type(cause).__name__, cause,
    )  # fmt: skip
    response = unavailable(request)
    headers_default(response, TRACKING_HEADERS)
    return response


def unavailable(request: HttpRequest) -> HttpResponse:
    """503 while PostgreSQL is out of reach and the answer needs it (a link or domain no
    cache holds, a postback's log row): nothing was stored, so the client is asked to
    come back. Networks retry a postback on a 5xx; a person's page reloads itself. The
    pixel keeps its contract: always the GIF."""
    path = request.path_info
    if path in POSTBACK_PATHS:
        response: HttpResponse = JsonResponse(
            {"error": "Trackly cannot reach its database just now; nothing was recorded. "
             "Retry later.", "retry_after": RETRY_AFTER_SECONDS},
            status=503,
        )  # fmt: skip
    elif PIXEL_RE.match(path):
        # The pixel always answers its GIF (it is an <img>; nothing would retry).
        response = HttpResponse(postbacks.PIXEL, content_type="image/gif")
    else:
        page = render_to_string("links/unavailable.html", {"retry_after": RETRY_AFTER_SECONDS})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
