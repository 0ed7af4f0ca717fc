"""Postback endpoints on tracking domains: /conv, /conv/offer, /pixel/<link_id>.gif.

Every request is logged first (its secrets redacted, attribution.redaction); then its
credential checked, parsed, deduplicated and attributed; one naming a stored (txn_id,
event) updates that conversion (services.conversion_postback). /conv proves itself with the
account's postback token (`token`) when the account requires one, /conv/offer with the
offer's secret; the pixel, which sits in public page source, with nothing, so under the
account's requirement it reports no figures of its own. Bad input is a 400 naming the
field, a request over MAX_TRACKING_REQUEST_BYTES a 413; nothing is ever a 500 by design,
and everything is in the log.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import replace
from typing import Any

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils import timezone

from attribution import fastpath, redaction
from attribution import postback_input as parse
from attribution.contacts import contact_find
from attribution.models import PostbackLog
from attribution.services import (
    ConversionInput,
    conversion_postback,
    conversion_result,
    postback_log_close,
    postback_log_open,
)
from core import bounds
from core.errors import DATABASE_DOWN, DatabaseUnavailable
from core.models import Account, Offer
from links import ids
from links.domains import DomainInfo
from links.models import MessageShortLink, MessageShortLinkClick
from links.redirect import client_ip, request_too_large
from links.selectors import click_by_id

logger = logging.getLogger(__name__)

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")  # 43 bytes


TOO_LARGE = (
    f"request too large: the query and body together may hold at most "
    f"{bounds.MAX_TRACKING_REQUEST_BYTES} bytes"
)


class Reject(Exception):
    def __init__(self, status: int, field: str | None, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


def _params(request: HttpRequest) -> dict[str, str]:
    try:
        params = {k: v for k, v in request.GET.items()}
        if request.method == "POST":
            params.update({k: v for k, v in request.POST.items()})
    except MultiPartParserError as exc:
        # e.g. multipart/form-data without a boundary: Django cannot read the form.
        content_type = request.META.get("CONTENT_TYPE", "")[:100]
        raise Reject(400, None, f"the body could not be read as {content_type!r}: {exc}") from exc
    except (SuspiciousOperation, BadRequest) as exc:  # too many fields, a charset Django lacks
        raise Reject(400, None, f"the request could not be read: {exc}") from exc
    for key, value in params.items():
        if "\x00" in key or "\x00" in value:
            raise Reject(400, key.replace("\x00", ""), "contains a NUL character")
    return params


def _storable(text: str) -> str:
    # A NUL PostgreSQL cannot store in text; dropped rather than replaced, so that a body
    # sent as UTF-16 (every other byte a NUL) still shows, and has redacted, its secret.
    return text.replace("\x00", "")


def _open_log(
    request: HttpRequest, domain: DomainInfo, endpoint: str, *, with_body: bool
) -> PostbackLog:
    """The log row, with every secret and token redacted (attribution.redaction); the body
    only when it is to be read (not for a request refused as too large)."""
    body = ""
    if with_body and request.method == "POST":
        body = redaction.redact_body(
            _storable(request.body.decode("utf-8", errors="replace")),
            request.META.get("CONTENT_TYPE", ""),
        )
    return postback_log_open(
        account_id=domain.account_id,
        endpoint=endpoint,
        method=request.method or "",
        host=request.META.get("HTTP_HOST", ""),
        query=redaction.redact_query(_storable(request.META.get("QUERY_STRING", ""))),
        body=body,
        ip=client_ip(request),
        user_agent=_storable(request.META.get("HTTP_USER_AGENT", "")),
    )


def _input(params: dict[str, str], account: Account | None) -> ConversionInput:
    """The postback's figures; with no account, currency "" stands for the account's. An
    amount or status it does not send is None (a new conversion: postback_input's
    defaults; an update: left as stored)."""
    return ConversionInput(
        event=parse.parse_event(params.get("event")),
        revenue=parse.parse_optional_amount("revenue", params.get("revenue")),
        payout=parse.parse_optional_amount("payout", params.get("payout")),
        approval=parse.parse_approval(params.get("status")),
        currency=parse.parse_currency(params.get("currency"), account.currency if account else ""),
        txn_id=parse.parse_txn_id(params.get("txn_id")),
        occurred_at=parse.parse_ts(params.get("ts"), timezone.now()),
    )


def _handle(
    request: HttpRequest,
    domain: DomainInfo,
    endpoint: str,
    work: Any,
    override: dict[str, str] | None = None,
) -> JsonResponse:
    too_large = request_too_large(request.META)
    try:
        log = _open_log(request, domain, endpoint, with_body=not too_large)
    except DATABASE_DOWN as exc:
        raise DatabaseUnavailable from exc  # nothing recorded: the network may retry
    try:
        if too_large:
            raise Reject(413, None, TOO_LARGE)
        if request.method not in ("GET", "POST"):
            raise Reject(405, None, "method not allowed; use GET or POST")
        params = _params(request) | (override or {})
        status, body = work(params, domain, log)
    except parse.PostbackInvalid as exc:
        status, body = 400, {"error": exc.message, "field": exc.field}
        postback_log_close(
            log, outcome=PostbackLog.Outcome.REJECTED, http_status=400, reason=str(exc)
        )
    except Reject as exc:
        status, body = (
            exc.status,
            {"error": exc.message, **({"field": exc.field} if exc.field else {})},
        )
        postback_log_close(
            log, outcome=PostbackLog.Outcome.REJECTED, http_status=exc.status, reason=exc.message
        )
    except Exception:
        # A bug: still give the logged postback its outcome, then let it surface.
        postback_log_close(
            log, outcome=PostbackLog.Outcome.REJECTED, http_status=500, reason="internal error"
        )
        raise
    else:
        if log.outcome == PostbackLog.Outcome.RECEIVED:  # the fast path closes its own
            outcome = body["status"]
            postback_log_close(
                log, outcome=outcome, http_status=status, reason=body.get("reason", "")
            )
    if status >= 400:
        logger.info("postback %s rejected (%s): %s", endpoint, status, body)
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    if status == 405:
        response["Allow"] = "GET, POST"
    return response


def _answer(conversion: Any, outcome: str) -> tuple[int, dict[str, Any]]:
    """outcome: services.conversion_postback's (accepted, pending, updated, duplicate)."""
    return (202 if outcome == "pending" else 200), conversion_result(conversion, outcome)


def _link(account: Account, link_id: str) -> MessageShortLink:
    if not ids.is_link_id(link_id):
        raise Reject(400, "link_id", "must be 7 letters or digits")
    link = (
        MessageShortLink.objects.select_related("offer")
        .filter(account=account, link_id=link_id)
        .first()
    )
    if link is None:
        raise Reject(404, "link_id", f"unknown link {link_id}")
    return link


def _conv(
    params: dict[str, str], domain: DomainInfo, log: PostbackLog
) -> tuple[int, dict[str, Any]]:
    # Before anything else is read: without the token, a link id (in every SMS) or a click
    # id (in the recipient's address bar) would let anyone report revenue. The hash comes
    # with the cached domain: no query. Constant time (core.models.secret_matches).
    if domain.require_postback_token and not domain.postback_token_matches(
        params.get("token") or ""
    ):
        raise Reject(403, "token", "wrong or missing postback token for this account")
    return _credit(params, domain, log)


def _pixel(
    params: dict[str, str], domain: DomainInfo, log: PostbackLog
) -> tuple[int, dict[str, Any]]:
    # The pixel sits in the advertiser's page source, where anyone can read it: it never
    # takes the token. Under the account's requirement it is trusted with nothing but which
    # link converted: its figures are the offer's defaults (postback_input.without_money),
    # and it never changes a stored conversion (anyone could reject a sale): a repeat of
    # its (txn_id, event) is a duplicate.
    if domain.require_postback_token:
        return _credit(parse.without_money(params), domain, log, may_update=False)
    return _credit(params, domain, log)


def _credit(
    params: dict[str, str], domain: DomainInfo, log: PostbackLog, *, may_update: bool = True
) -> tuple[int, dict[str, Any]]:
    click_id = (params.get("click_id") or "").strip()
    link_id = (params.get("link_id") or "").strip()
    if not click_id and not link_id:
        raise Reject(400, "click_id", "send click_id (or link_id)")
    data = _input(params, None)
    if click_id and not ids.is_click_id(click_id):
        raise Reject(400, "click_id", "must be 16 letters or digits, as sent in the redirect")
    if not click_id and not ids.is_link_id(link_id):
        raise Reject(400, "link_id", "must be 7 letters or digits")
    # The common case, credited at once, in two statements; anything else takes the full path.
    credited = fastpath.conversion_credit(
        account_id=domain.account_id, data=data, log=log, click_id=click_id, link_id=link_id
    )
    if credited is not None:
        attribution, conversion_id, clicked_at = credited
        fastpath.injection_check(conversion_id, data.occurred_at, clicked_at)
        return 200, {
            "status": "accepted",
            "conversion_id": conversion_id,
            "attribution": attribution,
        }
    account = Account.objects.get(pk=domain.account_id)
    data = replace(data, currency=data.currency or account.currency)
    if click_id:
        click = click_by_id(
            MessageShortLinkClick.objects.select_related("short_link__offer").filter(
                account=account
            ),
            click_id,
        )
        if click is None:
            # Well-formed but not stored yet: the click may still be on its way in.
            return _answer(*conversion_postback(
                account=account, data=data, log=log, may_update=may_update, contact_id=None,
                offer=None, reported_click_id=click_id, pending=True,
            ))  # fmt: skip
        link = click.short_link
    else:
        link = _link(account, link_id)
    return _answer(*conversion_postback(
        account=account, data=data, log=log, may_update=may_update, contact_id=link.contact_id,
        offer=link.offer, reported_click_id=click_id, reported_link=link,
        message_id=link.message_id,
    ))  # fmt: skip


def _conv_offer(
    params: dict[str, str], domain: DomainInfo, log: PostbackLog
) -> tuple[int, dict[str, Any]]:
    account = Account.objects.get(pk=domain.account_id)
    offer_id = (params.get("offer_id") or "").strip()
    if not offer_id:
        raise Reject(400, "offer_id", "send offer_id and secret")
    if not (offer_id.isascii() and offer_id.isdigit()) or len(offer_id) > 18:
        raise Reject(400, "offer_id", "must be the offer's numeric id")
    offer = Offer.objects.filter(account=account, pk=int(offer_id)).first()
    secret = params.get("secret") or ""
    # One answer for a wrong secret and an unknown offer, so ids cannot be probed.
    if offer is None or not offer.postback_secret_matches(secret):
        raise Reject(403, "secret", "wrong or missing secret for this offer")
    data = _input(params, account)
    contact_ref = (params.get("contact") or "").strip()
    contact = contact_find(account, contact_ref) if contact_ref else None
    if contact_ref and contact is None:
        raise Reject(404, "contact", f"unknown contact {contact_ref[:60]!r}")
    return _answer(
        *conversion_postback(
            account=account,
            data=data,
            log=log,
            may_update=True,
            contact_id=contact.pk if contact else None,
            offer=offer,
        )
    )


def conv(request: HttpRequest, domain: DomainInfo) -> HttpResponse:
    return _handle(request, domain, "conv", _conv)


def conv_offer(request: HttpRequest, domain: DomainInfo) -> HttpResponse:
    return _handle(request, domain, "conv/offer", _conv_offer)


def pixel(request: HttpRequest, domain: DomainInfo, link_id: str) -> HttpResponse:
    """Always the GIF, whatever the input; what it reported is in the postback log. Its
    status is 200 but for a request too large to read (413)."""
    status = 200
    try:
        # The path names the link; a click_id in the query does not override it.
        status = _handle(
            request, domain, "pixel", _pixel, override={"link_id": link_id, "click_id": ""}
        ).status_code
    except Exception:
        logger.exception("pixel %s failed", link_id)
    response = HttpResponse(PIXEL, content_type="image/gif", status=413 if status == 413 else 200)
    response["Cache-Control"] = "no-store"
    return response
