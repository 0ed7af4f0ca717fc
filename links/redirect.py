"""The hot path: GET/HEAD /<link_id> on a tracking domain. Its two doors, both thin
callers of the one decision (links.decision.decide): look up, decide, store the click,
answer.

- `front(environ)`, called by trackly.wsgi before Django sees the request, answers the
  common case (domain in this process's cache, the answer a plain redirect, click
  pipeline up) straight from the WSGI environ: no request object, middleware or signals.
  As PostHog did with event capture, the busiest endpoint leaves Django; here only for
  the case that needs nothing of it. It declines (returns None, before storing anything)
  whatever else, and Django's view then answers the request from scratch.
- `redirect(request, ...)`, the Django view (via trackly.middleware and trackly.tracking),
  answers everything else: a domain not cached yet, interstitials, ended offers, unknown
  links, the embedded default, Redis down, PostgreSQL down on a link no cache holds.

Per redirect, with the click pipeline on (PostgreSQL and Redis): one Redis round trip
(config version GET + stream XADD, links.click_stream) and no SQL for a link this process
has cached; for one it has not, first an MGET from Redis, or on a link's first tap
anywhere one prepared SELECT and a SET (links.resolve). Without Redis, or with Redis down,
the click is written here: two INSERTs (links.services.click_record). A link whose offer
has routing rules adds, in memory, the click's traits (links.traits: a cached agent parse
and address lookup) to decide; other links' taps leave them to the consumer.
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.template.loader import render_to_string
from django.utils import timezone

from core import bounds, redis_conn
from core.errors import DATABASE_DOWN, DatabaseUnavailable
from core.headers import INTERSTITIAL_HEADERS, TRACKING_HEADERS, headers_set
from core.models import normalize_host
from links import app_links, click_stream, decision, ids
from links.bots import click_verdict
from links.click_stream import ClickEvent
from links.clicks import click_record
from links.decision import Answer, Kind
from links.domains import DomainInfo, domain_key, tracking_domain_by_host
from links.resolve import LinkInfo, link_info, link_key, local
from links.traits import click_traits

logger = logging.getLogger(__name__)


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


def redirect(request: HttpRequest, domain: DomainInfo, link_id: str) -> HttpResponse:
    """The view: every tap the front door declined, on whatever path of a tracking domain
    is not a postback's (trackly.tracking)."""
    method = request.method
    app = app_links.wants_json(request.META)  # an app reporting its tap (links.app_links)
    link = link_info(link_id) if decision.wants_link(method, link_id) else None
    event = _event(request.META, domain, link_id, link, app=app)
    answer = _decide(method, link_id, link, domain, event)
    if answer.records_click:
        event = _served(event, link, answer)
        changed = click_stream.publish(event) if click_stream.enabled() else None
        if changed is None:
            _click_write(link, event)
        elif changed:
            answer = _decide_again(domain.host, method, link_id, event)
    if app:
        return app_links.json_answer(method, answer, event.click_id)
    return _response(method, answer)


def front(environ: dict) -> HttpResponse | None:
    """The redirect for the common case, from the WSGI environ, or None for the view.

    Only when the domain is in this process's cache (which the view fills), the link is
    known (looked up as the view would when not cached) and the answer is a plain 302;
    the click is appended exactly as the view would. When the append shows the config
    changed, it answers from the current config, as the view would. DatabaseUnavailable
    when PostgreSQL is out of reach (trackly.wsgi answers 503, not trying again).
    """
    if app_links.wants_json(environ):
        return None  # the JSON tap: the view answers it (links.app_links)
    method = environ.get("REQUEST_METHOD")
    link_id = environ.get("PATH_INFO", "")[1:]
    if not decision.wants_link(method, link_id) or request_too_large(environ):
        return None  # the view answers 405, unknown paths and 413
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
            # Race: the lookup read a newer config version (another process changed a
            # domain, offer or account since this process cached the domain): that
            # cleared this process's copies, the domain included. The view answers from
            # the current config.
            if link is None or local.peek(domain_key(host)) is not domain:
                return None
        # Race: another process changed a tester, test list or internal network since this
        # process cached the link; the append below shows it (the answer is decided again),
        # but this one click keeps the verdict of the link info it was appended with.
        event = _event(environ, domain, link_id, link)
        answer = _decide(method, link_id, link, domain, event)
        # Pages (interstitial, offer ended, unknown link) are the view's.
        if answer.kind is not Kind.REDIRECT or not answer.records_click:
            return None
        event = _served(event, link, answer)
    except DATABASE_DOWN as exc:
        raise DatabaseUnavailable("the redirect's front door found it out of reach") from exc
    except Exception:
        logger.exception("redirect front: falling back to the view")
        return None
    changed = click_stream.publish(event)
    if changed is None:
        return None  # not appended (Redis down): the view writes it directly
    if changed:
        try:
            answer = _decide_again(host, method, link_id, event)
        except DATABASE_DOWN as exc:
            raise DatabaseUnavailable("the config changed and PostgreSQL is out of reach") from exc
        except Exception:
            # The click is appended: the view must not append it again. A bug here answers
            # from the config this process had, not a bare 500 outside Django.
            logger.exception("redirect front: deciding again failed; answering as decided")
    return _response(method, answer)


def _decide(
    method: str | None,
    link_id: str,
    link: LinkInfo | None,
    domain: DomainInfo | None,
    event: ClickEvent,
) -> Answer:
    # The click's traits only for an offer with routing rules: every other tap leaves
    # them to the consumer (or the direct write), and costs nothing more here.
    traits = click_traits(event.ip, event.user_agent) if decision.needs_traits(link) else None
    return decision.decide(
        method=method,
        link_id=link_id,
        link=link,
        domain=domain,
        now=event.clicked_at,
        click_id=event.click_id,
        traits=traits,
        accept_language=event.accept_language,
    )


def _served(event: ClickEvent, link: LinkInfo | None, answer: Answer) -> ClickEvent:
    """The click with what the decision found: the traits it worked out and the variant
    it served. Unchanged (the common case: no rules, the link's own variant served) when
    the consumer would store the same without them."""
    if answer.traits is None and (link is None or answer.variant == link.variant):
        return event
    event.traits, event.variant = answer.traits, answer.variant
    return event


def _decide_again(host: str, method: str | None, link_id: str, event: ClickEvent) -> Answer:
    """The click is appended, and the config changed since this process cached the link
    or its domain: the answer from the current config, for that same click. (The consumer
    drops the click if the link is gone. Race: the click keeps the variant and traits
    it was appended with; only the answer follows the new config.)"""
    domain = tracking_domain_by_host(host)
    wanted = domain is not None and decision.wants_link(method, link_id)
    return _decide(method, link_id, link_info(link_id) if wanted else None, domain, event)


def _response(method: str | None, answer: Answer) -> HttpResponse:
    kind = answer.kind
    if kind is Kind.REDIRECT or kind is Kind.FALLBACK:
        response = HttpResponse(status=302)
        response["Location"] = answer.location
    elif kind is Kind.INTERSTITIAL:
        page = render_to_string(
            "links/interstitial.html", {"page": answer.interstitial, "target": answer.location}
        )
        response = HttpResponse(page)
        headers_set(response, INTERSTITIAL_HEADERS)
    elif kind is Kind.OFFER_ENDED:
        response = HttpResponse(render_to_string("links/offer_ended.html"), status=410)
    elif kind is Kind.NOT_FOUND:
        response = HttpResponse(render_to_string("links/not_found.html"), status=404)
    elif kind is Kind.METHOD_NOT_ALLOWED:
        response = HttpResponse("Method not allowed\n", status=405, content_type="text/plain")
        response["Allow"] = "GET, HEAD"
        return _plain(response)
    else:  # NO_SUCH_HOST: as trackly.middleware answers a host that is not a domain
        return _plain(HttpResponseNotFound("Not found\n", content_type="text/plain"))
    return _finished(method, response)


def _plain(response: HttpResponse) -> HttpResponse:
    """An answer that is not about a link (no Cache-Control: no-store), with what the front
    door's answers need as they never reach trackly.middleware."""
    response["Content-Length"] = str(len(response.content))
    headers_set(response, TRACKING_HEADERS)
    return response


def _event(
    meta: dict, domain: DomainInfo, link_id: str, link: LinkInfo | None, *, app: bool = False
) -> ClickEvent:
    ip = environ_ip(meta)
    clicked_at = timezone.now()
    return ClickEvent(
        click_id=ids.new_click_id(clicked_at),  # carries clicked_at's second (links.ids)
        link_id=link_id,
        account_id=domain.account_id,
        clicked_at=clicked_at,
        ip=ip,
        user_agent=meta.get("HTTP_USER_AGENT", ""),
        referer=meta.get("HTTP_REFERER", ""),
        accept_language=meta.get("HTTP_ACCEPT_LANGUAGE", ""),
        method=meta.get("REQUEST_METHOD", "GET"),
        internal=link is not None and link.is_internal(ip),
        app=app,
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
            verdict=click_verdict(
                method=event.method,
                user_agent=event.user_agent,
                internal=event.internal,
                app=event.app,
            ),
            traits=event.traits,
            variant=event.variant,
        )
    except Exception:
        # Never fail a person on their way to the offer because a write failed; the log
        # line carries the whole click, so it can be replayed.
        logger.exception("redirect: could not record click %s", event)
