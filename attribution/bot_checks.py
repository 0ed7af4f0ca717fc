"""Bots told by what they do, judged shortly after the click (Celery, attribution.tasks).

Checks, each turning a click into a bot after the fact, with its reason (the verdict change,
and the counted click it may move, is links.clicks.click_verdict_set):
- `behaviour:delivery-scan`: clicked within the list's `scanner_window_seconds` of the
  message's `sent_at` (carrier scanners fetch at delivery).
- `behaviour:ip-fanout`: one IP opened links of the account's `bot_ip_fanout_contacts` or
  more different contacts within `bot_ip_fanout_seconds`.
- `behaviour:link-flood`: more than BOT_LINK_CLICKS_PER_MINUTE clicks on one link within
  a minute (the clicks past that number).

Test and internal traffic (reason `internal`, links.bots) is never judged, and the fan-out
count leaves it out: ten testers on the office network are not a scanner.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from attribution.fraud import flag_raise
from attribution.models import FraudFlag
from links.bots import INTERNAL_REASON
from links.clicks import click_verdict_set
from links.models import MessageShortLinkClick

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
    if click.bot_reason == INTERNAL_REASON:
        return  # internal traffic: its verdict is final (links.clicks.click_verdict_set)
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
    ).exclude(bot_reason=INTERNAL_REASON)  # internal traffic: not a fan-out
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
        raw_click_id=click.pk,
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
        short_link_id=click.short_link_id,
        clicked_at__gte=click.clicked_at - dt.timedelta(minutes=1),
    ).filter(Q(clicked_at__lt=click.clicked_at) | Q(clicked_at=click.clicked_at, pk__lt=click.pk))
    if earlier.count() >= limit:
        click_verdict_set(click, is_bot=True, reason="behaviour:link-flood")
