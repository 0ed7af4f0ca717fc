"""The answer to a mint, for a message and its short links: the JSON the mint API returns
and the message detail report shows (a message minted before answers as it was minted)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.models import Message, TrackingDomain
from links.models import MessageShortLink


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
    )


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
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": message_id,
        "external_id": external_id,
        "contact": {"id": contact_id, "external_id": contact_external_id},
        "channel": channel,
        "sent_at": sent_at.isoformat().replace("+00:00", "Z"),
        "body": body,
        "links": links,
    }
    if channel == Message.Channel.SMS:
        result["segments"] = segments
    return result
