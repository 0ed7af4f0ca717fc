"""Conversions: log the postback, deduplicate, attribute, answer; a postback naming a
stored (txn_id, event) updates that conversion (through attribution.adjustments)."""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import nullcontext
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from attribution import fastpath
from attribution.adjustments import AdjustmentInvalid, Change, Origin, conversion_adjust
from attribution.answer import attribution_answer, log_close_sql, log_closed
from attribution.fraud import conversion_injection_check
from attribution.models import Conversion, ConversionAdjustment, PostbackLog
from attribution.postback_input import (
    ConversionInput,
    PostbackInvalid,
    amounts_filled,
    amounts_updated,
)
from attribution.rules import Attribution, attribution_find
from core import bounds
from core.models import Account, Offer
from links.models import MessageShortLink, MessageShortLinkClick
from links.selectors import clicks_by_ids

logger = logging.getLogger(__name__)

# A postback may name a click that is still on its way to the database. It waits this long
# for the click, then is kept unattributed (docs/postbacks.md: "Postbacks before their click").
PENDING_TIMEOUT = dt.timedelta(minutes=10)


# The answer does not say what the cap is: an account without the token requirement answers
# anyone who guesses a link id.
REVENUE_ABOVE_CAP = "is above this offer's revenue cap"


def postback_log_open(
    *,
    account_id: int | None,
    endpoint: str,
    method: str,
    host: str,
    query: str,
    body: str,
    ip: str | None,
    user_agent: str,
) -> PostbackLog:
    """Written (and committed) before anything else, so no postback is ever lost."""
    fields = {
        "account_id": account_id,
        "endpoint": endpoint,
        # Any token a client sends as its method (MKCALENDAR...): cut to the column, so the
        # row is written and the 405 that follows is logged.
        "method": method[:8],
        "host": host[:253],
        # At most what a tracking request may carry (a longer one is refused, 413).
        "query": query[: bounds.MAX_TRACKING_REQUEST_BYTES],
        "body": body[: bounds.MAX_TRACKING_REQUEST_BYTES],
        "ip": ip,
        "user_agent": user_agent,
        "received_at": timezone.now(),
    }
    if connection.vendor == "postgresql":
        return fastpath.log_insert(fields)  # on every postback: a prepared statement
    return PostbackLog.objects.create(**fields)


def postback_log_close(
    log: PostbackLog, *, outcome: str, http_status: int, reason: str = ""
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            log_close_sql(outcome="%s", http_status="%s", reason="%s", log="%s"),
            [outcome, http_status, reason, log.pk],
        )
    log_closed(log, outcome=outcome, http_status=http_status, reason=reason)


def conversion_record(
    *,
    account: Account,
    data: ConversionInput,
    log: PostbackLog | None,
    contact_id: int | None,
    offer: Offer | None,
    reported_click_id: str = "",
    reported_link: MessageShortLink | None = None,
    message_id: int | None = None,
    pending: bool = False,
) -> tuple[Conversion, bool]:
    """Store one conversion, attributed. Returns (conversion, created); created is False
    for a duplicate (same account, txn_id and event), which changes nothing here. Revenue
    or payout above the offer's cap raises PostbackInvalid (a 400 naming the field)."""
    for field in ("revenue", "payout"):
        amount = getattr(data, field)
        if amount is not None and offer is not None and not offer.revenue_within_cap(amount):
            raise PostbackInvalid(field, REVENUE_ABOVE_CAP)
    if data.txn_id:
        existing = Conversion.objects.filter(
            account=account, txn_id=data.txn_id, event=data.event
        ).first()
        if existing is not None:
            return existing, False
    revenue, payout = amounts_filled(
        data.revenue, data.payout, offer.default_payout if offer else Decimal(0)
    )
    conversion = Conversion(
        account=account,
        txn_id=data.txn_id,
        event=data.event,
        revenue=revenue,
        payout=payout,
        approval=data.approval or Conversion.Approval.APPROVED,
        revenue_reported=data.revenue is not None or data.payout is not None,
        currency=data.currency,
        occurred_at=data.occurred_at,
        reported_click_id=reported_click_id,
        reported_link=reported_link,
        contact_id=contact_id,
        offer=offer,
        postback_log=log,
    )
    if pending:
        conversion.status = Conversion.Status.PENDING
        conversion.unattributed_reason = f"waiting for click {reported_click_id}"
    elif contact_id is None:
        conversion.attribution_type = Conversion.AttributionType.OFFER
        conversion.unattributed_reason = "offer-level conversion: no contact named"
    else:
        attribution_apply(
            conversion,
            conversion_attribution(account, offer, contact_id, data.occurred_at, message_id),
        )
    try:
        # Race: the same postback retried, or sent on two connections at once. The unique
        # (account, txn_id, event) constraint lets one insert win; the others are
        # duplicates. (Autocommit: a failed INSERT leaves nothing behind to roll back.)
        in_transaction = transaction.get_connection().in_atomic_block
        with transaction.atomic() if in_transaction else nullcontext():
            conversion.save(force_insert=True)
    except IntegrityError:
        existing = Conversion.objects.filter(
            account=account, txn_id=data.txn_id, event=data.event
        ).first()
        if existing is None:
            raise
        return existing, False
    if conversion.message_click is not None:
        conversion_injection_check(conversion)
    return conversion, True


def conversion_postback(
    *, account: Account, data: ConversionInput, log: PostbackLog, may_update: bool, **found: Any
) -> tuple[Conversion, str]:
    """A postback's conversion (conversion_record's arguments in `found`) and its outcome:
    accepted, pending, or for a stored (txn_id, event) updated (when `may_update` and it
    changed something) else duplicate."""
    conversion, created = conversion_record(account=account, data=data, log=log, **found)
    if created:
        return conversion, "pending" if conversion.status == Conversion.Status.PENDING else (
            "accepted"
        )
    if may_update and conversion_postback_update(conversion, data, log) is not None:
        return conversion, "updated"
    return conversion, "duplicate"


# What a postback's names for the figures are (attribution.adjustments names `approval`).
_POSTBACK_FIELDS = {"approval": "status", "revenue": "revenue", "payout": "payout"}


def conversion_postback_update(
    conversion: Conversion, data: ConversionInput, log: PostbackLog
) -> ConversionAdjustment | None:
    """Apply what a repeated postback sent (its status, its amounts as new totals; only
    one amount alone moves both while they are equal: postback_input.amounts_updated) to
    the stored `conversion`, updated in place. None when nothing changed (a retry: a
    duplicate)."""
    revenue, payout = amounts_updated(
        conversion.revenue, conversion.payout, data.revenue, data.payout
    )
    change = Change(approval=data.approval, revenue=revenue, payout=payout)
    if change == Change():
        return None
    try:
        adjustment = conversion_adjust(
            conversion.pk,
            change,
            Origin(source=ConversionAdjustment.Source.POSTBACK, postback_log_id=log.pk),
        )
    except AdjustmentInvalid as exc:
        raise PostbackInvalid(_POSTBACK_FIELDS[exc.field], exc.message) from exc
    if adjustment is None:
        return None
    if data.revenue is not None or data.payout is not None:
        # Reported now: a conversion still waiting for its click keeps these amounts
        # rather than the offer's default payout when the click is found.
        Conversion.objects.filter(pk=conversion.pk, revenue_reported=False).update(
            revenue_reported=True
        )
    conversion.approval = adjustment.approval_after
    conversion.revenue = adjustment.revenue_after
    conversion.payout = adjustment.payout_after
    return adjustment


def conversion_attribution(
    account: Account, offer: Offer | None, contact_id: int, at: dt.datetime, message_id: int | None
) -> Attribution:
    return attribution_find(
        account_id=account.pk,
        contact_id=contact_id,
        offer_id=offer.pk if offer else None,
        occurred_at=at,
        message_id=message_id,
    )


def attribution_apply(conversion: Conversion, attribution: Attribution) -> None:
    conversion.attribution_type = attribution.type
    conversion.unattributed_reason = attribution.reason
    conversion.message_click = attribution.message_click
    conversion.raw_click_id = attribution.raw_click_id
    conversion.message_id = attribution.message_id
    conversion.campaign_id = attribution.campaign_id
    conversion.creative_id = attribution.creative_id


def conversions_pending_match(
    *,
    now: dt.datetime | None = None,
    limit: int = 1000,
    click_ids: list[str] | None = None,
) -> int:
    """Attribute pending conversions whose click has landed; give up on those past the
    timeout (kept, unattributed, with the reason). Returns how many were settled.

    With `click_ids` (the click pipeline, right after storing them), only the conversions
    that named one of those clicks."""
    now = now or timezone.now()
    settled = 0
    queryset = Conversion.objects.filter(status=Conversion.Status.PENDING)
    if click_ids is not None:
        queryset = queryset.filter(reported_click_id__in=click_ids)
    with transaction.atomic():
        # Race: several workers running this at once. SKIP LOCKED gives each its own rows.
        pending = list(
            queryset.select_for_update(skip_locked=True, of=("self",))
            .select_related("account", "offer")
            .order_by("received_at")[:limit]
        )
        if not pending:
            return 0
        clicks = {
            c.click_id: c
            for c in clicks_by_ids(
                MessageShortLinkClick.objects.select_related("short_link__offer"),
                [p.reported_click_id for p in pending],
                key=lambda c: c.click_id,
            )
        }
        for conversion in pending:
            try:
                # One bad row must not hold up the others: each settles in its own savepoint.
                with transaction.atomic():
                    settled += _pending_settle(conversion, clicks, now)
            except Exception:
                logger.exception("pending conversion %s could not be settled", conversion.pk)
    return settled


def _pending_settle(
    conversion: Conversion, clicks: dict[str, MessageShortLinkClick], now: dt.datetime
) -> int:
    click = clicks.get(conversion.reported_click_id)
    if click is not None and click.account_id == conversion.account_id:
        offer = click.short_link.offer
        conversion.offer = offer
        conversion.contact_id = click.contact_id
        conversion.reported_link = click.short_link
        if offer is not None and not conversion.revenue_reported:
            conversion.revenue = conversion.payout = offer.default_payout
        above_cap = [
            field
            for field in ("revenue", "payout")
            if offer is not None
            and conversion.revenue_reported
            and not offer.revenue_within_cap(getattr(conversion, field))
        ]
        if above_cap:
            # Answered 202 before its offer, and so its cap, was known: kept, never credited.
            conversion.attribution_type = Conversion.AttributionType.NONE
            conversion.unattributed_reason = (
                f"{above_cap[0]} {getattr(conversion, above_cap[0])} is above the offer's "
                f"revenue cap ({offer.revenue_cap})"
            )
        else:
            attribution_apply(
                conversion,
                conversion_attribution(
                    conversion.account,
                    offer,
                    click.contact_id,
                    conversion.occurred_at,
                    click.message_id,
                ),
            )
    elif now - conversion.received_at >= PENDING_TIMEOUT:
        conversion.unattributed_reason = (
            f"click {conversion.reported_click_id} never arrived "
            f"(waited {int(PENDING_TIMEOUT.total_seconds() // 60)} minutes)"
        )
        conversion.attribution_type = Conversion.AttributionType.NONE
    else:
        return 0
    conversion.status = Conversion.Status.ACCEPTED
    conversion.save()
    return 1


def conversion_result(conversion: Conversion, status: str) -> dict[str, Any]:
    attribution = None
    if (
        conversion.attribution_type
        not in (
            Conversion.AttributionType.NONE,
            Conversion.AttributionType.OFFER,
        )
        and conversion.status == Conversion.Status.ACCEPTED
    ):
        credited = conversion.message_click
        attribution = attribution_answer(
            type=conversion.attribution_type,
            click_id=credited.click_id if credited is not None else None,  # kept: raw may be pruned
            message_id=conversion.message_id,
            creative_id=conversion.creative_id,
            offer_id=conversion.offer_id,
            contact_id=conversion.contact_id,
            campaign_id=conversion.campaign_id,
        )
    result: dict[str, Any] = {
        "status": status,
        "conversion_id": conversion.pk,
        "attribution": attribution,
    }
    if attribution is None:
        result["reason"] = (
            conversion.unattributed_reason or conversion.get_attribution_type_display()
        )
    return result
