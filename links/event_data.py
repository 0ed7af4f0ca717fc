"""What a click event says (message.clicked, message.click_revoked, click.recorded): the
payload of each raw click, built for a whole batch in one query; and the pieces (message,
click, named things) other events reuse."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.events import contact_data, event_timestamp
from links.models import MessageShortLinkClick


def named(obj: Any) -> dict[str, Any] | None:
    """An offer, campaign, creative, list or audience as events name it, or None."""
    return {"id": obj.pk, "name": obj.name} if obj is not None else None


def message_data(message: Any) -> dict[str, Any] | None:
    """A message as events name it, or None."""
    if message is None:
        return None
    return {
        "id": message.pk,
        "external_id": message.external_id,
        "channel": message.channel,
        "sent_at": event_timestamp(message.sent_at),
    }


def click_ref(click: MessageShortLinkClick | None) -> dict[str, Any] | None:
    """A raw click as events name it: its public id and time, or None."""
    if click is None:
        return None
    return {"id": click.click_id, "clicked_at": event_timestamp(click.clicked_at)}


def click_data(click: MessageShortLinkClick) -> dict[str, Any]:
    """A raw click (loaded with its link, offer, message, campaign, creative, list and
    contact) as a click event names it: contact, message, link, offer, campaign, creative,
    list, click."""
    link, message = click.short_link, click.message
    return {
        "contact": contact_data(click.contact),
        "message": message_data(message),
        "link": {"id": link.link_id, "name": link.name, "url": link.destination_url},
        "offer": named(link.offer),
        "campaign": named(message.campaign),
        "creative": named(message.creative),
        "list": named(message.sending_list),
        "click": click_ref(click),
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
