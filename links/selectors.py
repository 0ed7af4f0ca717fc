"""Reads about links and clicks shared by the API, pages and reports."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from core.models import Message
from links.models import MessageClick, MessageShortLinkClick


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
        "first_click_at": first.isoformat().replace("+00:00", "Z") if first else None,
    }
