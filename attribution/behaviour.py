"""Bots told by what they do, judged shortly after the click, and the invariant that
every verdict change keeps:

    MessageClick is the first click of its (contact, message) that is not a bot under the
    current verdicts (any first click when the message's list has bot detection off).

Checks, each turning a click into a bot after the fact, with its reason:
- `behaviour:delivery-scan`: clicked within the list's `scanner_window_seconds` of the
  message's `sent_at` (carrier scanners fetch at delivery).
- `behaviour:ip-fanout`: one IP opened links of the account's `bot_ip_fanout_contacts` or
  more different contacts within `bot_ip_fanout_seconds`.
- `behaviour:link-flood`: more than BOT_LINK_CLICKS_PER_MINUTE clicks on one link within
  a minute (the clicks past that number).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from attribution.fraud import flag_raise
from attribution.models import Conversion, FraudFlag
from attribution.services import attribution_apply, conversion_attribution
from core.models import Message, SendingList
from links.models import MessageClick, MessageShortLinkClick

logger = logging.getLogger(__name__)

JUDGE_BATCH = 500


def clicks_judge_pending(*, limit: int = JUDGE_BATCH) -> int:
    """Judge clicks not judged yet; several workers may run this at once. Returns how many."""
    with transaction.atomic():
        # Race: two workers sweeping together. SKIP LOCKED hands each its own clicks.
        batch = list(
            MessageShortLinkClick.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(judged_at__isnull=True)
            .select_related("message__sending_list", "account")
            .order_by("clicked_at")[:limit]
        )
        if not batch:
            return 0
        MessageShortLinkClick.objects.filter(pk__in=[c.pk for c in batch]).update(
            judged_at=timezone.now()
        )
    for click in batch:
        click_judge(click)
    return len(batch)


def click_judge(click: MessageShortLinkClick) -> None:
    sending_list = click.message.sending_list
    window = dt.timedelta(seconds=sending_list.scanner_window_seconds if sending_list else 3)
    sent_at = click.message.sent_at
    if not click.is_bot and sent_at <= click.clicked_at <= sent_at + window:
        click_verdict_set(click, is_bot=True, reason="behaviour:delivery-scan")
    if click.ip:
        _ip_fanout_check(click)
    if not click.is_bot:
        _link_flood_check(click)


def _ip_fanout_check(click: MessageShortLinkClick) -> None:
    account = click.account
    span = dt.timedelta(seconds=account.bot_ip_fanout_seconds)
    nearby = MessageShortLinkClick.objects.filter(
        account_id=click.account_id,
        ip=click.ip,
        clicked_at__gte=click.clicked_at - span,
        clicked_at__lte=click.clicked_at + span,
    )
    contacts = nearby.values("contact_id").distinct().count()
    if contacts < account.bot_ip_fanout_contacts:
        return
    for other in nearby.filter(is_bot=False).select_related("message__sending_list"):
        click_verdict_set(other, is_bot=True, reason="behaviour:ip-fanout")
    if not click.is_bot:
        click.refresh_from_db(fields=["is_bot", "bot_reason"])
    flag_raise(
        account_id=click.account_id,
        kind=FraudFlag.Kind.CLICK_FLOOD,
        key=f"{click.ip}@{click.clicked_at:%Y-%m-%dT%H:%M}",
        ip=click.ip,
        click_id=click.pk,
        evidence={
            "ip": click.ip,
            "contacts": contacts,
            "clicks": nearby.count(),
            "window_seconds": account.bot_ip_fanout_seconds,
            "around": click.clicked_at.isoformat(),
        },
    )


def _link_flood_check(click: MessageShortLinkClick) -> None:
    limit = settings.BOT_LINK_CLICKS_PER_MINUTE
    earlier = MessageShortLinkClick.objects.filter(
        link_id=click.link_id,
        clicked_at__gte=click.clicked_at - dt.timedelta(minutes=1),
    ).filter(Q(clicked_at__lt=click.clicked_at) | Q(clicked_at=click.clicked_at, pk__lt=click.pk))
    if earlier.count() >= limit:
        click_verdict_set(click, is_bot=True, reason="behaviour:link-flood")


def click_verdict_set(click: MessageShortLinkClick, *, is_bot: bool, reason: str) -> None:
    """Change a click's verdict and keep MessageClick (and the conversions it carried) true."""
    if click.is_bot == is_bot and click.bot_reason == reason:
        return
    MessageShortLinkClick.objects.filter(pk=click.pk).update(is_bot=is_bot, bot_reason=reason)
    click.is_bot, click.bot_reason = is_bot, reason
    message_click_recompute(contact_id=click.contact_id, message_id=click.message_id)


def message_click_recompute(*, contact_id: int, message_id: int) -> None:
    with transaction.atomic():
        # Race: two verdict changes on one (contact, message) at once, or one racing the
        # redirect's insert. Locking the message row serialises the recomputes; the unique
        # (contact, message) constraint still holds the redirect to one row.
        message = (
            Message.objects.select_for_update(of=("self",))
            .select_related("sending_list")
            .get(pk=message_id)
        )
        counts_bots = (
            message.sending_list is not None and not message.sending_list.bot_detection_enabled
        )
        clicks = MessageShortLinkClick.objects.filter(message_id=message_id, contact_id=contact_id)
        if not counts_bots:
            clicks = clicks.filter(is_bot=False)
        first = clicks.select_related("link").order_by("clicked_at", "id").first()
        current = MessageClick.objects.filter(contact_id=contact_id, message_id=message_id).first()
        if (current and current.click_id) == (first and first.pk):
            return
        offer_id = current.offer_id if current else (first.link.offer_id if first else None)
        if first is None:
            current.delete()  # type: ignore[union-attr]
        elif current is None:
            MessageClick.objects.create(
                account_id=first.account_id, contact_id=contact_id, message_id=message_id,
                link_id=first.link_id, click_id=first.pk, offer_id=first.link.offer_id,
                clicked_at=first.clicked_at,
            )  # fmt: skip
        else:
            current.click_id, current.link_id = first.pk, first.link_id
            current.clicked_at, current.offer_id = first.clicked_at, first.link.offer_id
            current.save(update_fields=["click", "link", "clicked_at", "offer"])
        conversions_reattribute(contact_id=contact_id, offer_id=offer_id)


def conversions_reattribute(*, contact_id: int, offer_id: int | None) -> int:
    """Attribute again the accepted conversions of a contact on an offer."""
    changed = 0
    for conversion in (
        Conversion.objects.filter(
            contact_id=contact_id, offer_id=offer_id, status=Conversion.Status.ACCEPTED
        )
        .exclude(attribution_type=Conversion.AttributionType.OFFER)
        .select_related("account", "offer")
    ):
        before = (conversion.message_click_id, conversion.attribution_type)
        attribution_apply(
            conversion,
            conversion_attribution(
                conversion.account,
                conversion.offer,
                contact_id,
                conversion.occurred_at,
                conversion.message_id,
            ),
        )
        if (conversion.message_click_id, conversion.attribution_type) != before:
            conversion.save()
            changed += 1
    return changed


def sending_list_bot_detection_set(*, list_id: int, enabled: bool) -> int:
    """Switch bot detection on a list and recompute its MessageClicks. Verdicts stay as
    they are, so reports still show the bot share. Returns how many pairs were looked at."""
    SendingList.objects.filter(pk=list_id).update(bot_detection_enabled=enabled)
    pairs = (
        MessageShortLinkClick.objects.filter(message__sending_list_id=list_id)
        .values_list("contact_id", "message_id")
        .distinct()
    )
    count = 0
    for contact_id, message_id in pairs.iterator():
        message_click_recompute(contact_id=contact_id, message_id=message_id)
        count += 1
    return count
