"""What a click event says (message.clicked, message.click_revoked, click.recorded): the
payload of each raw click, built for a whole batch in one query; and the pieces (message,
click, named things) other events reuse."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from core.events import contact_data, event_timestamp
from links.models import MessageClick, MessageShortLinkClick


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


def counted_click_ref(click: MessageClick | None) -> dict[str, Any] | None:
    """A counted click's raw click as events name it (click_ref), from what the counted click
    keeps: the raw click may have been pruned by retention."""
    if click is None:
        return None
    return {"id": click.click_id, "clicked_at": event_timestamp(click.clicked_at)}


@dataclass(frozen=True)
class LoadedClick:
    """A raw click as click events need it: its verdict, and its payload (`data`)."""

    pk: int
    click_id: str
    clicked_at: dt.datetime
    is_bot: bool
    bot_reason: str
    method: str
    data: dict[str, Any]


_COLUMNS = (
    "pk", "click_id", "clicked_at", "is_bot", "bot_reason", "method",
    "contact_id", "contact__external_id", "contact__phone", "contact__email",
    "message_id", "message__external_id", "message__channel", "message__sent_at",
    "short_link__link_id", "short_link__name", "short_link__destination_url",
    "short_link__offer_id", "short_link__offer__name",
    "message__campaign_id", "message__campaign__name",
    "message__creative_id", "message__creative__name",
    "message__sending_list_id", "message__sending_list__name",
)  # fmt: skip


def _pair(pk: int | None, name: str | None) -> dict[str, Any] | None:
    return {"id": pk, "name": name} if pk is not None else None


def clicks_load(raw_click_ids: Iterable[int]) -> dict[int, LoadedClick]:
    """The raw clicks by id with their payloads (contact, message, link, offer, campaign,
    creative, list, click): one query, no model instances (a burst has thousands)."""
    ids = list(set(raw_click_ids))
    if not ids:
        return {}
    loaded = {}
    for row in MessageShortLinkClick.objects.filter(pk__in=ids).values(*_COLUMNS):
        contact = SimpleNamespace(
            pk=row["contact_id"],
            external_id=row["contact__external_id"],
            phone=row["contact__phone"],
            email=row["contact__email"],
        )
        data = {
            "contact": contact_data(contact),
            "message": message_data(
                SimpleNamespace(
                    pk=row["message_id"],
                    external_id=row["message__external_id"],
                    channel=row["message__channel"],
                    sent_at=row["message__sent_at"],
                )
            ),
            "link": {
                "id": row["short_link__link_id"],
                "name": row["short_link__name"],
                "url": row["short_link__destination_url"],
            },
            "offer": _pair(row["short_link__offer_id"], row["short_link__offer__name"]),
            "campaign": _pair(row["message__campaign_id"], row["message__campaign__name"]),
            "creative": _pair(row["message__creative_id"], row["message__creative__name"]),
            "list": _pair(row["message__sending_list_id"], row["message__sending_list__name"]),
            "click": {"id": row["click_id"], "clicked_at": event_timestamp(row["clicked_at"])},
        }
        loaded[row["pk"]] = LoadedClick(
            row["pk"], row["click_id"], row["clicked_at"], row["is_bot"], row["bot_reason"],
            row["method"], data,
        )  # fmt: skip
    return loaded


def click_data(click: LoadedClick) -> dict[str, Any]:
    """message.clicked's and message.click_revoked's payload (a fresh copy)."""
    return {**click.data}


def recorded_data(click: LoadedClick) -> dict[str, Any]:
    """click.recorded's payload: the click's data with its verdict and method."""
    verdict = {"is_bot": click.is_bot, "reason": click.bot_reason, "method": click.method}
    return {**click.data, **verdict}
