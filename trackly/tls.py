"""`GET /tls/ask?domain=<host>`: may Caddy get a certificate for this host? (The `ask`
endpoint of Caddy's on-demand TLS, deploy/Caddyfile, docs/deploy.md.)

200 when the host is an app host (APP_HOSTS) or an active tracking domain of an active
account, 404 otherwise; a missing or malformed `domain` is a 400 naming it. Answered on
the app hosts and on `localhost` at any port (where Caddy asks, whatever APP_HOSTS says),
first thing in trackly.middleware: never an HTTPS or trailing-slash redirect, no session
or CSRF. Cheap: the tracking-domain lookup is the redirect's cached one (links.domains),
so a flood of handshakes for unknown names costs one cached miss per name.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.errors import DATABASE_DOWN
from core.hostnames import host_problem
from links.domains import tracking_domain_by_host

logger = logging.getLogger(__name__)
PATHS = ("/tls/ask", "/tls/ask/")
ASK_HOSTS = ("localhost",)  # besides APP_HOSTS
RETRY_AFTER_SECONDS = 5


def is_ask(path: str, host: str, app_hosts: frozenset[str]) -> bool:
    """Whether a request is the ask endpoint's: its path, on an app host or localhost."""
    return path in PATHS and (host in app_hosts or host in ASK_HOSTS)


def ask(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        response = _error(405, "method", "Use GET.")
        response["Allow"] = "GET, HEAD"
        return response
    values = request.GET.getlist("domain")
    if len(values) != 1:
        return _error(400, "domain", "Give one domain: /tls/ask?domain=<host>.")
    domain = values[0].strip().lower()
    if domain in settings.APP_HOSTS:
        return _answer(200, domain, "app host")
    problem = host_problem(domain)
    if problem is not None:
        return _error(400, "domain", problem)
    try:
        known = tracking_domain_by_host(domain) is not None
    except DATABASE_DOWN as exc:
        # Caddy refuses the certificate for now and asks again at the next handshake.
        logger.warning("tls ask for %r: database unavailable (%s); answered 503", domain, exc)
        response = JsonResponse({"error": "database unavailable; retry later"}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return _plain(response)
    if known:
        return _answer(200, domain, "tracking domain")
    logger.info("tls ask for %r: not a tracking domain; refused", domain)
    return _answer(404, domain, "")


def _answer(status: int, domain: str, what: str) -> HttpResponse:
    body = {"domain": domain, "allowed": status == 200}
    if what:
        body["as"] = what
    return _plain(JsonResponse(body, status=status))


def _error(status: int, field: str, message: str) -> HttpResponse:
    errors = {field: [message]}
    return _plain(
        JsonResponse({"detail": "Invalid request: see errors.", "errors": errors}, status=status)
    )


def _plain(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response
