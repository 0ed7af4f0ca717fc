"""Reads about links and clicks shared by the API, pages and reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.db.models import Count, Q, QuerySet

from core.models import Message
from links import ids
from links.models import MessageClick, MessageShortLinkClick

Row = TypeVar("Row")

# What a raw click came from (links.traits) and the A/B variant it was sent to, as the
# message's API and page and the contact's journey show it: device is mobile, tablet,
# desktop or other; os, browser, network and variant "" when unknown or none; country
# ISO 3166 alpha-2 or None. Clicks stored before issue 17 read as other / None.
CLICK_TRAIT_FIELDS = ("device", "os", "browser", "country", "network", "variant")
# The message API's `clicks`: a forwarded message can be opened thousands of times; the
# first this many, in time order, are listed (`raw_clicks` counts them all).
MESSAGE_CLICKS_SHOWN = 1000


def click_by_id(queryset: QuerySet[Row], click_id: str) -> Row | None:
    """The raw click of `queryset` named `click_id`, looked up within the time the id carries
    (one partition once raw clicks are partitioned), then, on a miss, by the id alone: an id
    minted before ids carried time holds random characters that may decode to any time."""
    window = ids.click_id_window(click_id)
    if window is not None:
        found = queryset.filter(
            click_id=click_id, clicked_at__gte=window[0], clicked_at__lt=window[1]
        ).first()
        if found is not None:
            return found
    return queryset.filter(click_id=click_id).first()


def clicks_by_ids(
    queryset: QuerySet[Row], click_ids: Iterable[str], key: Callable[[Row], str]
) -> list[Row]:
    """The raw clicks of `queryset` named by `click_ids` (`key`: a row's click id): those
    whose ids carry time within the span of those times, then the ids not found by the id
    alone (minted before ids carried time, or not stored). Two queries at most."""
    wanted = set(click_ids)
    windows = [w for c in wanted if (w := ids.click_id_window(c)) is not None]
    rows: list[Row] = []
    if windows:
        rows = list(
            queryset.filter(
                click_id__in=wanted,
                clicked_at__gte=min(w[0] for w in windows),
                clicked_at__lt=max(w[1] for w in windows),
            )
        )
    rest = wanted - {key(row) for row in rows}
    if rest:
        rows += list(queryset.filter(click_id__in=rest))
    return rows


def click_traits_of(click: MessageShortLinkClick) -> dict[str, Any]:
    return {field: getattr(click, field) for field in CLICK_TRAIT_FIELDS}


def message_click_summary(message: Message, links: list[dict[str, Any]]) -> dict[str, Any]:
    """`clicked`, `raw_clicks`, `bot_clicks`, `first_click_at`, and raw clicks per link
    (added in place to each link of `links`). Two queries."""
    per_link = {
        row["short_link__link_id"]: row
        for row in MessageShortLinkClick.objects.filter(message=message)
        .values("short_link__link_id")
        .annotate(raw=Count("id"), bots=Count("id", filter=Q(is_bot=True)))
    }
    for link in links:
        link["raw_clicks"] = per_link.get(link["link_id"], {}).get("raw", 0)
    first = (
        MessageClick.objects.filter(message=message).values_list("clicked_at", flat=True).first()
    )
    return {
        "clicked": first is not None,
        "raw_clicks": sum(row["raw"] for row in per_link.values()),
        "bot_clicks": sum(row["bots"] for row in per_link.values()),
        "first_click_at": _iso(first) if first else None,
    }


def message_clicks(message: Message) -> list[dict[str, Any]]:
    """The message's raw clicks in time order (the first MESSAGE_CLICKS_SHOWN), each with
    its verdict, whether it is the counted click, and its traits. Two queries."""
    counted = (
        MessageClick.objects.filter(message=message).values_list("raw_click_id", flat=True).first()
    )
    clicks = (
        MessageShortLinkClick.objects.filter(message=message)
        .select_related("short_link")
        .order_by("clicked_at", "id")[:MESSAGE_CLICKS_SHOWN]
    )
    return [
        {
            "click_id": c.click_id,
            "link_id": c.short_link.link_id,
            "clicked_at": _iso(c.clicked_at),
            "is_bot": c.is_bot,
            "bot_reason": c.bot_reason,
            "counted": c.pk == counted,
            **click_traits_of(c),
        }
        for c in clicks
    ]


def _iso(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
