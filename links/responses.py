"""The answer to a mint, for a message and its short links: the JSON the mint API returns
and the message detail report shows (a message minted before answers as it was minted);
and for a holdout, which has no links and whose body is answered unchanged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from core.models import HoldoutMessage, Message, TrackingDomain
from links.models import MessageShortLink
from links.segments import sms_segments


def message_result(
    message: Message, domain: TrackingDomain | None, links: list[MessageShortLink]
) -> dict[str, Any]:
    return message_result_from_parts(
        message.pk,
        message.external_id,
        message.contact_id,
        message.contact.external_id,
        message.channel,
        message.sent_at,
        message.rewritten_body,
        message.segments,
        [link_result(domain, ln.name, ln.link_id, ln.destination_url, ln.offer_id) for ln in links],
        message.cost,
    )


def holdout_result(holdout: HoldoutMessage, body: str) -> dict[str, Any]:
    """A holdout as the mint answers it: the body as given (nothing was minted in it),
    no links, no cost."""
    result = message_result_from_parts(
        holdout.pk,
        holdout.external_id,
        holdout.contact_id,
        holdout.contact.external_id,
        holdout.channel,
        holdout.sent_at,
        body,
        sms_segments(body) if holdout.channel == Message.Channel.SMS else None,
        [],
        Decimal(0),
    )
    result["holdout"] = True
    return result


def link_result(
    domain: TrackingDomain | None, name: str, link_id: str, url: str, offer_id: int | None
) -> dict[str, Any]:
    return {
        "name": name,
        "link_id": link_id,
        "short_url": domain.short_url(link_id) if domain else None,
        "destination": url,
        "offer": offer_id,
    }


def message_result_from_parts(
    message_id: int | None,
    external_id: str | None,
    contact_id: int,
    contact_external_id: str,
    channel: str,
    sent_at: dt.datetime,
    body: str,
    segments: int | None,
    links: list[dict[str, Any]],
    cost: Decimal,
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": message_id,
        "external_id": external_id,
        "contact": {"id": contact_id, "external_id": contact_external_id},
        "channel": channel,
        "sent_at": sent_at.isoformat().replace("+00:00", "Z"),
        "body": body,
        "links": links,
        "cost": cost_text(cost),
        "holdout": False,
    }
    if channel == Message.Channel.SMS:
        result["segments"] = segments
    return result


def cost_text(cost: Decimal) -> str:
    """A message's cost as answered: a decimal string to four places ("0.0079")."""
    return f"{Decimal(cost):.4f}"
