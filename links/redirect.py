"""The hot path: GET/HEAD /<link_id> on a tracking domain.

Kept small and free of DRF, sessions and templates (but for interstitials), so it could be
moved out of Django. Per redirect, with the click pipeline on (PostgreSQL and Redis): one
Redis round trip (config version GET + stream XADD, links.click_stream) and no SQL; the
link and its domain come from this process's cache (links.resolve). Without Redis, or
with Redis down, the click is written here: two INSERTs.
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.template.loader import render_to_string
from django.utils import timezone

from attribution.bots import classify_request
from links import click_stream, ids
from links.click_stream import ClickEvent
from links.destination import destination_url
from links.domains import DomainInfo, tracking_domain_by_host
from links.resolve import LinkInfo, link_info
from links.services import click_record

logger = logging.getLogger(__name__)


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the X-Forwarded-For entry added by the outermost trusted proxy."""
    ip = request.META.get("REMOTE_ADDR", "")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted > 0:
        forwarded = [
            p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if p.strip()
        ]
        if forwarded:
            ip = forwarded[max(len(forwarded) - trusted, 0)]
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return None


def _finish(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    response["Content-Length"] = str(len(response.content))
    if request.method == "HEAD":
        response.content = b""  # same status and headers as GET, no body
    return response


def _redirect(url: str) -> HttpResponse:
    response = HttpResponse(status=302)
    response["Location"] = url
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

    now = timezone.now()
    click_id = ids.new_click_id()
    meta = request.META
    event = ClickEvent(
        click_id=click_id,
        link_id=link_id,
        account_id=domain.account_id,
        clicked_at=now,
        ip=client_ip(request),
        user_agent=meta.get("HTTP_USER_AGENT", ""),
        referer=meta.get("HTTP_REFERER", ""),
        accept_language=meta.get("HTTP_ACCEPT_LANGUAGE", ""),
        method=request.method,
    )
    changed = click_stream.publish(event) if click_stream.enabled() else None
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
        return _finish(request, HttpResponse(page))
    return _finish(request, _redirect(target))


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
    return destination_url(
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
