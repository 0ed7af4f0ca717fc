"""The facts automations read, made directly (a minted message, a stored and judged click,
a conversion) and the trigger events emitted as their producers emit them (payloads per
docs/events.md), so these tests need neither the judge nor the event producers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from attribution.conversion_events import conversion_data
from attribution.models import Conversion
from automations.models import Automation
from core.events import contact_data, event_emit, event_timestamp
from core.models import Contact, Message, WebhookEndpoint
from core.sealing import sealed
from links.clicks import click_verdict_set
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick
from tests.helpers import click_stored

T0 = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)


def ref(obj: Any) -> dict | None:
    return None if obj is None else {"id": obj.pk, "name": obj.name}


def sent(account: Any, *, link: str = "link1", offer: Any = None, **fields: Any) -> Message:
    """A minted message with one tracked link named `link` (to the offer, if given)."""
    spec = {"offer": offer.pk} if offer else {"url": "https://a.example/"}
    minted = account.mint(body=f"{{{{{link}}}}}", links={link: spec}, **fields)
    return Message.objects.get(pk=minted["id"])


def clicked_now(
    message: Message, at: dt.datetime = T0, *, judged: bool = True
) -> MessageShortLinkClick:
    """A person's click on the message's first link, stored with its counted click."""
    link = MessageShortLink.objects.filter(message=message).order_by("id").first()
    click = click_stored(link, at)
    if judged:
        MessageShortLinkClick.objects.filter(pk=click.pk).update(judged_at=at)
    assert MessageClick.objects.filter(raw_click=click).exists()
    return click


def judged_bot(click: MessageShortLinkClick, reason: str = "behaviour:ip-fanout") -> None:
    click_verdict_set(click, is_bot=True, reason=reason)


def clicked_event(click: MessageShortLinkClick, *, occurred_at: dt.datetime = T0) -> None:
    """message.clicked for the click, as links.click_events emits it."""
    message = click.message
    link = click.short_link
    event_emit(
        account_id=click.account_id,
        type="message.clicked",
        occurred_at=occurred_at,
        data={
            "contact": contact_data(click.contact),
            "message": {
                "id": message.pk,
                "external_id": message.external_id,
                "channel": message.channel,
                "sent_at": event_timestamp(message.sent_at),
            },
            "link": {"id": link.link_id, "name": link.name, "url": link.destination_url},
            "offer": ref(link.offer),
            "campaign": ref(message.campaign),
            "creative": ref(message.creative),
            "list": ref(message.sending_list),
            "click": {"id": click.click_id, "clicked_at": event_timestamp(click.clicked_at)},
        },
    )


def converted(
    click: MessageShortLinkClick, *, status: str = "accepted", **fields: Any
) -> Conversion:
    message = click.message
    return Conversion.objects.create(
        account_id=click.account_id,
        txn_id=fields.pop("txn_id", f"t{click.pk}"),
        currency="USD",
        occurred_at=T0,
        status=status,
        contact=click.contact,
        message=message,
        raw_click=click,
        message_click=MessageClick.objects.filter(raw_click=click).first(),
        offer=click.short_link.offer,
        campaign=message.campaign,
        **fields,
    )


def conversion_event(conversion: Conversion, *, occurred_at: dt.datetime = T0) -> None:
    """conversion.recorded, as attribution.conversion_events emits it (its payload builder)."""
    event_emit(
        account_id=conversion.account_id,
        type="conversion.recorded",
        occurred_at=occurred_at,
        data=conversion_data(conversion),
    )


def audience_entered_event(
    account_id: int, audience_id: int, contact: Contact, *, occurred_at: dt.datetime = T0
) -> None:
    event_emit(
        account_id=account_id,
        type="contact.audience_entered",
        occurred_at=occurred_at,
        data={
            "audience": {"id": audience_id, "name": "Audience"},
            "contact": contact_data(contact),
            "entered_at": event_timestamp(occurred_at),
        },
    )


def automation(account: Any, trigger: dict, action: dict, **fields: Any) -> Automation:
    """An automation stored as the API stores it (its rules already checked by the test)."""
    fields = {"name": f"Automation {Automation.objects.count() + 1}", "delay_seconds": 60} | fields
    return Automation.objects.create(
        account=account.account, trigger=trigger, action=action, **fields
    )


def endpoint(account: Any) -> WebhookEndpoint:
    return WebhookEndpoint.objects.create(
        account=account.account,
        url="https://hooks.example.com/trackly",
        events=["message.clicked"],
        secret_sealed=sealed("whsec_test"),
    )


def after(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)
