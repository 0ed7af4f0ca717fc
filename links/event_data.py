"""What a click event says (message.clicked, message.click_revoked, click.recorded): the
payload of each raw click, built for a whole batch in one query."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.events import contact_data, event_timestamp
from links.models import MessageShortLinkClick


def _named(obj: Any) -> dict[str, Any] | None:
    return {"id": obj.pk, "name": obj.name} if obj is not None else None


def click_data(click: MessageShortLinkClick) -> dict[str, Any]:
    """A raw click (loaded with its link, offer, message, campaign, creative, list and
    contact) as a click event names it: contact, message, link, offer, campaign, creative,
    list, click."""
    link, message = click.short_link, click.message
    return {
        "contact": contact_data(click.contact),
        "message": {
            "id": message.pk,
            "external_id": message.external_id,
            "channel": message.channel,
            "sent_at": event_timestamp(message.sent_at),
        },
        "link": {"id": link.link_id, "name": link.name, "url": link.destination_url},
        "offer": _named(link.offer),
        "campaign": _named(message.campaign),
        "creative": _named(message.creative),
        "list": _named(message.sending_list),
        "click": {"id": click.click_id, "clicked_at": event_timestamp(click.clicked_at)},
    }


def clicks_load(raw_click_ids: Iterable[int]) -> dict[int, MessageShortLinkClick]:
    """The raw clicks by id, with everything click_data reads: one query."""
    ids = list(set(raw_click_ids))
    if not ids:
        return {}
    return {
        click.pk: click
        for click in MessageShortLinkClick.objects.filter(pk__in=ids).select_related(
            "contact",
            "short_link__offer",
            "message__campaign",
            "message__creative",
            "message__sending_list",
        )
    }


def recorded_data(click: MessageShortLinkClick) -> dict[str, Any]:
    """click.recorded's payload: the click's data with its verdict and method."""
    return {
        **click_data(click),
        "is_bot": click.is_bot,
        "reason": click.bot_reason,
        "method": click.method,
    }
