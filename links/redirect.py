"""The hot path: GET/HEAD /<link_id> on a tracking domain.

Two doors, one behaviour:

- `front(environ)`, called by trackly.wsgi before Django sees the request, answers the
  common case (domain in this process's cache, a known link with a live offer and no
  interstitial, click pipeline up) straight from the WSGI environ: no request object,
  middleware or signals. As PostHog did with event capture, the busiest endpoint leaves
  Django; here only for the case that needs nothing of it.
- `redirect(request, ...)`, the Django view (via trackly.middleware and trackly.tracking),
  answers everything else: a domain not cached yet, interstitials, ended offers, unknown
  links, the embedded default, Redis down, PostgreSQL down on a link no cache holds.

Per redirect, with the click pipeline on (PostgreSQL and Redis): one Redis round trip
(config version GET + stream XADD, links.click_stream) and no SQL for a link this process
has cached; for one it has not, first an MGET from Redis, or on a link's first tap
anywhere one prepared SELECT and a SET (links.resolve). Without Redis, or with Redis down,
the click is written here: two INSERTs.
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.template.loader import render_to_string
from django.utils import timezone

from core import bounds, redis_conn, uris
from core.errors import DATABASE_DOWN, DATABASE_DOWN_SEEN
from core.headers import INTERSTITIAL_HEADERS, TRACKING_HEADERS, headers_set
from core.models import normalize_host
from links import click_stream, ids
from links.bots import classify_request
from links.click_stream import ClickEvent
from links.clicks import click_record
from links.destination import destination_url
from links.domains import DomainInfo, domain_key, tracking_domain_by_host
from links.resolve import LinkInfo, link_info, link_key, local

logger = logging.getLogger(__name__)


# Set by front() on the environ when it appended the click but the config had changed:
# the view then answers from the current config with that click, without a second append.
PUBLISHED = "trackly.published_click"


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the X-Forwarded-For entry added by the outermost trusted proxy."""
    return environ_ip(request.META)


def environ_ip(meta: dict) -> str | None:
    ip = meta.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted > 0:
        forwarded = [
            p.strip() for p in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()
        ]
        if forwarded:
            ip = forwarded[max(len(forwarded) - trusted, 0)]
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


def request_too_large(meta: dict) -> bool:
    """More query and body than a tracking request may carry (core.bounds); answered 413
    without reading the body. (Django reads no body beyond its Content-Length.)"""
    try:
        body = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        body = 0  # as Django reads it: no body
    return len(meta.get("QUERY_STRING", "")) + body > bounds.MAX_TRACKING_REQUEST_BYTES


def too_large(request: HttpRequest) -> HttpResponse:
    logger.info("tracking %s %r refused: request too large", request.method, request.path)
    page = render_to_string(
        "links/too_large.html", {"limit_kb": bounds.MAX_TRACKING_REQUEST_BYTES // 1024}
    )
    return _finish(request, HttpResponse(page, status=413))


def _finish(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    return _finished(request.method, response)


def _finished(method: str | None, response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Content-Length"] = str(len(response.content))
    # Here, not only in trackly.middleware: the front door's answers never reach it.
    headers_set(response, TRACKING_HEADERS)
    if method == "HEAD":
        response.content = b""  # same status and headers as GET, no body
    return response


def _redirect(url: str) -> HttpResponse:
    response = HttpResponse(status=302)
    # ASCII whatever is stored: a header value that is not would go out MIME-encoded,
    # which no browser follows. Destinations enter as URIs (core.uris); this covers
    # rows stored before that, at the cost of one scan for what a URI cannot hold raw.
    response["Location"] = uris.to_location(url)
    return response


def unknown_link(request: HttpRequest, domain: DomainInfo) -> HttpResponse:
    if domain.fallback_url:
        return _finish(request, _redirect(domain.fallback_url))
    page = render_to_string("links/not_found.html")
    return _finish(request, HttpResponse(page, status=404))


def redirect(request: HttpRequest, domain: DomainInfo, link_id: str) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        response = HttpResponse("Method not allowed\n", status=405, content_type="text/plain")
        response["Allow"] = "GET, HEAD"
        return response
    link = link_info(link_id) if ids.is_link_id(link_id) else None
    # Another account's link on this host is treated as unknown.
    if link is None or link.account_id != domain.account_id:
        return unknown_link(request, domain)

    published = request.META.pop(PUBLISHED, None)
    if published is not None:
        event, changed = published, True  # front() appended it, then saw a config change
    else:
        event = _event(request.META, domain, link_id)
        changed = click_stream.publish(event) if click_stream.enabled() else None
    now, click_id = event.clicked_at, event.click_id
    if changed is None:
        _click_write(link, event)
    elif changed:
        # The config changed since this process cached the link or its domain: answer
        # from the current config. (The consumer drops the click if the link is gone.)
        fresh = tracking_domain_by_host(domain.host)
        if fresh is None:
            return HttpResponseNotFound("Not found\n", content_type="text/plain")
        domain, link = fresh, link_info(link_id)
        if link is None or link.account_id != domain.account_id:
            return unknown_link(request, domain)

    if not link.offer_is_live(now):
        fallback = link.offer_fallback_url or domain.fallback_url
        if fallback:
            return _finish(request, _redirect(fallback))
        page = render_to_string("links/offer_ended.html")
        return _finish(request, HttpResponse(page, status=410))

    target = _target(link, click_id)
    if link.interstitial is not None:
        page = render_to_string(
            "links/interstitial.html", {"page": link.interstitial, "target": target}
        )
        response = HttpResponse(page)
        headers_set(response, INTERSTITIAL_HEADERS)
        return _finish(request, response)
    return _finish(request, _redirect(target))


def front(environ: dict) -> HttpResponse | None:
    """The redirect for the common case, from the WSGI environ, or None for the view.

    Only when the domain is in this process's cache (which the view fills), the link is
    known (looked up as the view would when not cached) and the answer is a plain 302;
    the click is appended exactly as the view would. When the append shows the config
    changed, the click is handed to the view (PUBLISHED), which answers from the current
    config.
    """
    method = environ.get("REQUEST_METHOD")
    link_id = environ.get("PATH_INFO", "")[1:]
    if (method != "GET" and method != "HEAD") or not ids.is_link_id(link_id):
        return None
    if request_too_large(environ):
        return None  # the view answers 413
    if not click_stream.enabled() or not redis_conn.available():
        return None  # the view writes the click itself
    try:
        host = normalize_host(environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""))
        if host in settings.APP_HOSTS:
            return None
        domain = local.peek(domain_key(host))
        if not isinstance(domain, DomainInfo):
            return None  # not cached yet (or unknown): the view looks it up
        link = local.peek(link_key(link_id))
        if not isinstance(link, LinkInfo):
            # A link this process has not seen: a blast's taps are mostly such (every
            # contact has a link of their own). From Redis, or PostgreSQL the first time.
            link = link_info(link_id)
            if link is None:
                return None  # unknown: the view answers it
            # Race: the lookup read a newer config version (another process changed a
            # domain, offer or account since this process cached the domain): that
            # cleared this process's copies, the domain included. The view answers from
            # the current config.
            if local.peek(domain_key(host)) is not domain:
                return None
        if link.account_id != domain.account_id or link.interstitial is not None:
            return None
        event = _event(environ, domain, link_id)
        if not link.offer_is_live(event.clicked_at):
            return None
        target = _target(link, event.click_id)
    except DATABASE_DOWN:
        # The view answers 503 (and logs it) without trying to connect once more.
        environ[DATABASE_DOWN_SEEN] = True
        return None
    except Exception:
        logger.exception("redirect front: falling back to the view")
        return None
    changed = click_stream.publish(event)
    if changed is None:
        return None  # not appended (Redis down): the view writes it directly
    if changed:
        environ[PUBLISHED] = event
        return None
    return _finished(method, _redirect(target))


def _event(meta: dict, domain: DomainInfo, link_id: str) -> ClickEvent:
    return ClickEvent(
        click_id=ids.new_click_id(),
        link_id=link_id,
        account_id=domain.account_id,
        clicked_at=timezone.now(),
        ip=environ_ip(meta),
        user_agent=meta.get("HTTP_USER_AGENT", ""),
        referer=meta.get("HTTP_REFERER", ""),
        accept_language=meta.get("HTTP_ACCEPT_LANGUAGE", ""),
        method=meta.get("REQUEST_METHOD", "GET"),
    )


def _click_write(link: LinkInfo, event: ClickEvent) -> None:
    """The direct path: the embedded default, or Redis unreachable."""
    try:
        click_record(
            link=link,
            click_id=event.click_id,
            clicked_at=event.clicked_at,
            ip=event.ip,
            user_agent=event.user_agent,
            referer=event.referer,
            accept_language=event.accept_language,
            method=event.method,
            verdict=classify_request(method=event.method, user_agent=event.user_agent),
        )
    except Exception:
        # Never fail a person on their way to the offer because a write failed; the log
        # line carries the whole click, so it can be replayed.
        logger.exception("redirect: could not record click %s", event)


def _target(link: LinkInfo, click_id: str) -> str:
    """Where the click goes, as a URI (the interstitial's button carries it too)."""
    return uris.to_location(
        destination_url(
            link.destination_template,
            {
                "click_id": click_id,
                "link_id": link.link_id,
                "message_id": link.message_id,
                "contact_id": link.contact_id,
                "offer_id": link.offer_id,
                "campaign_id": link.campaign_id,
                "creative_id": link.creative_id,
            },
            link.click_param,
        )
    )
