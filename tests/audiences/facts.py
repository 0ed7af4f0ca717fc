"""The facts audiences read, made directly (as the click, verdict and conversion writers
would leave them), with the events those writers emit: messages, counted clicks judged
human, clicks revoked as bots, conversions."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from attribution.models import Conversion
from core.events import contact_data, event_emit
from core.models import Account, Contact, Message, Offer
from links import ids
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick

_n = itertools.count(1)


def contact_make(account: Account, **fields: Any) -> Contact:
    n = next(_n)
    return Contact.objects.create(
        account=account, external_id=f"ext{n}", phone=f"+1415555{n:04d}", **fields
    )


def message_sent(
    contact: Contact,
    *,
    at: dt.datetime | None = None,
    offer: Offer | None = None,
    **fields: Any,
) -> Message:
    """A message to the contact, sent at `at`, with one link (to `offer` when given)."""
    message = Message.objects.create(
        account_id=contact.account_id,
        contact=contact,
        body="{{link1}}",
        rewritten_body="x",
        sent_at=at or timezone.now(),
        **fields,
    )
    MessageShortLink.objects.create(
        link_id=ids.new_link_id(),
        account_id=contact.account_id,
        message=message,
        contact=contact,
        offer=offer,
        name="link1",
        destination_url="https://a.example/",
    )
    return message


def _data(click: MessageShortLinkClick, **extra: Any) -> dict[str, Any]:
    message = click.message
    return {
        "contact": contact_data(click.contact),
        "message": {"id": message.pk, "external_id": message.external_id, "channel": "sms",
                    "sent_at": message.sent_at.isoformat()},
        "link": {"id": click.short_link.link_id, "name": "link1", "url": "https://a.example/"},
        "click": {"id": click.click_id, "clicked_at": click.clicked_at.isoformat()},
        **extra,
    }  # fmt: skip


def click_counted(
    message: Message, *, at: dt.datetime | None = None, judged: bool = True, announce: bool = True
) -> MessageShortLinkClick:
    """A human click on the message's link that counts (MessageClick), judged (and
    announced with message.clicked) unless told otherwise."""
    at = at or timezone.now()
    link = message.links.get()
    with transaction.atomic():
        raw = MessageShortLinkClick.objects.create(
            click_id=ids.new_click_id(at),
            account_id=message.account_id,
            short_link=link,
            message=message,
            contact=message.contact,
            clicked_at=at,
            judged_at=at if judged else None,
        )
        MessageClick.objects.create(
            account_id=message.account_id,
            contact=message.contact,
            message=message,
            short_link=link,
            raw_click=raw,
            click_id=raw.click_id,
            offer=link.offer,
            clicked_at=at,
        )
        if judged and announce:
            event_emit(account_id=message.account_id, type="message.clicked", data=_data(raw))
    return raw


def click_judged_bot(raw: MessageShortLinkClick, reason: str = "behaviour:ip-fanout") -> None:
    """The click turns out a bot: no longer counted, and message.click_revoked."""
    with transaction.atomic():
        MessageShortLinkClick.objects.filter(pk=raw.pk).update(
            is_bot=True, bot_reason=reason, judged_at=timezone.now()
        )
        MessageClick.objects.filter(raw_click=raw).delete()
        event_emit(
            account_id=raw.account_id,
            type="message.click_revoked",
            data=_data(raw, reason=reason),
        )


def conversion_made(
    contact: Contact,
    *,
    status: str = Conversion.Status.ACCEPTED,
    at: dt.datetime | None = None,
    message: Message | None = None,
    offer: Offer | None = None,
    announce: bool = True,
    **fields: Any,
) -> Conversion:
    at = at or timezone.now()
    with transaction.atomic():
        conversion = Conversion.objects.create(
            account_id=contact.account_id,
            txn_id=f"t{next(_n)}",
            revenue=Decimal("1"),
            currency="USD",
            occurred_at=at,
            status=status,
            contact=contact,
            message=message,
            offer=offer,
            campaign=message.campaign if message else None,
            creative=message.creative if message else None,
            **fields,
        )
        if announce:
            event_emit(
                account_id=contact.account_id,
                type="conversion.recorded",
                data={
                    "conversion": {"id": conversion.pk, "status": status},
                    "contact": contact_data(contact),
                },
            )
    return conversion
