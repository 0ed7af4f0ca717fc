"""What a postback answers about its credit, and how its log row is closed: one builder
each, for the full path (attribution.services) and the fast path (attribution.fastpath)."""

from __future__ import annotations

from typing import Any

from attribution.models import PostbackLog


def attribution_answer(
    *,
    type: str,
    click_id: str | None,
    message_id: int | None,
    creative_id: int | None,
    offer_id: int | None,
    contact_id: int | None,
    campaign_id: int | None,
) -> dict[str, Any]:
    """The answer's `attribution` object (docs/postbacks.md), for a credited conversion."""
    return {
        "type": type,
        "click_id": click_id,
        "message_id": message_id,
        "creative_id": creative_id,
        "offer_id": offer_id,
        "contact_id": contact_id,
        "campaign_id": campaign_id,
    }


def log_close_sql(*, outcome: str, http_status: str, reason: str, log: str) -> str:
    """The UPDATE that gives a postback's log row its outcome, from SQL expressions
    (placeholders or literals), so the fast path can run it inside its own statement."""
    columns = f"outcome = {outcome}, http_status = {http_status}, reason = {reason}"
    return f"UPDATE attribution_postbacklog SET {columns} WHERE id = {log}"  # noqa: S608 - expressions, never input


def log_closed(log: PostbackLog, *, outcome: str, http_status: int, reason: str) -> None:
    """The in-memory row, as log_close_sql left it in the database."""
    log.outcome, log.http_status, log.reason = outcome, http_status, reason
