"""The attribution rule: first click wins, inside the click window.

The credited click is the contact's earliest MessageClick on a link bound to the same offer
with clicked_at in [conversion time - window, conversion time]. No such click: a bot-only
clicker is unattributed; a contact who received the offer inside the window but never
clicked is view-through; anyone else is unattributed with the reason.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from attribution.models import Conversion
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick

DIRECT_WITHIN = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class Attribution:
    type: str
    reason: str = ""
    message_click: MessageClick | None = None
    message_id: int | None = None
    campaign_id: int | None = None
    creative_id: int | None = None

    @property
    def click_id(self) -> int | None:
        return self.message_click.click_id if self.message_click else None


def attribution_find(
    *,
    contact_id: int,
    offer_id: int | None,
    occurred_at: dt.datetime,
    window_days: int,
    message_id: int | None = None,
) -> Attribution:
    """Credit for a conversion of `contact_id` on `offer_id` at `occurred_at`.

    A link with no offer can only credit its own message (`message_id`): there is no
    offer to match across messages.
    """
    start = occurred_at - dt.timedelta(days=window_days)
    scope = {"offer_id": offer_id} if offer_id is not None else {"message_id": message_id}
    credited = (
        MessageClick.objects.filter(
            contact_id=contact_id, clicked_at__gte=start, clicked_at__lte=occurred_at, **scope
        )
        .select_related("message", "click")
        .order_by("clicked_at", "id")
        .first()
    )
    if credited is not None:
        kind = (
            Conversion.AttributionType.DIRECT
            if occurred_at - credited.clicked_at <= DIRECT_WITHIN
            else Conversion.AttributionType.CLICK_THROUGH
        )
        return Attribution(
            type=kind,
            message_click=credited,
            message_id=credited.message_id,
            campaign_id=credited.message.campaign_id,
            creative_id=credited.message.creative_id,
        )

    in_window = MessageShortLinkClick.objects.filter(
        contact_id=contact_id,
        clicked_at__gte=start,
        clicked_at__lte=occurred_at,
        **{f"link__{k}": v for k, v in scope.items()},
    )
    if in_window.filter(is_bot=False).exists():
        # Tapped again inside the window, but the counted (first) click is older.
        return Attribution(
            type=Conversion.AttributionType.NONE,
            reason=f"the contact's click on this offer is older than the {window_days}-day window",
        )
    if in_window.exists():
        return Attribution(
            type=Conversion.AttributionType.NONE,
            reason=f"only bot clicks on this offer in the {window_days}-day window",
        )
    received = (
        MessageShortLink.objects.filter(
            contact_id=contact_id,
            message__sent_at__gte=start,
            message__sent_at__lte=occurred_at,
            **scope,
        )
        .select_related("message")
        .order_by("message__sent_at", "id")
        .first()
    )
    if received is not None:
        return Attribution(
            type=Conversion.AttributionType.VIEW_THROUGH,
            reason="received the offer inside the window, never clicked",
            message_id=received.message_id,
            campaign_id=received.message.campaign_id,
            creative_id=received.message.creative_id,
        )
    earlier = MessageClick.objects.filter(
        contact_id=contact_id, clicked_at__lt=start, **scope
    ).exists()
    reason = (
        f"the contact's click on this offer is older than the {window_days}-day window"
        if earlier
        else f"no click on this offer in the {window_days}-day window"
    )
    return Attribution(type=Conversion.AttributionType.NONE, reason=reason)
