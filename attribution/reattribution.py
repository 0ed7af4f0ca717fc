"""Re-attribution: a contact's conversions credited again when a counted click they may
rest on moved (links.counting tells links.hooks.counted_click_moved; attribution.receivers
registers the receiver). An announced conversion whose credited click changes is told of
again (`conversion.reattributed`, attribution.conversion_events)."""

from __future__ import annotations

from django.db import transaction

from attribution.conversion_events import conversion_reattributed
from attribution.models import Conversion
from attribution.services import attribution_apply, conversion_attribution


def conversions_reattribute(*, contact_id: int, offer_id: int | None) -> int:
    """Attribute again the accepted conversions of a contact on an offer."""
    changed = 0
    with transaction.atomic():
        # Race: the announcer sweeping this conversion as its credit moves. The row lock
        # makes one wait for the other: either it is announced first (and this tells of
        # the move) or it is announced after, with the new credit.
        for conversion in (
            Conversion.objects.select_for_update(of=("self",))
            .filter(contact_id=contact_id, offer_id=offer_id, status=Conversion.Status.ACCEPTED)
            .exclude(attribution_type=Conversion.AttributionType.OFFER)
            # raw_click: the previous credit's raw click, for the event; a LEFT JOIN (the
            # column is nullable), so a raw click pruned by retention reads as None.
            .select_related("account", "offer", "raw_click")
        ):
            before = (conversion.message_click_id, conversion.attribution_type)
            previous_click = conversion.raw_click
            attribution_apply(
                conversion,
                conversion_attribution(
                    conversion.account,
                    conversion.offer,
                    contact_id,
                    conversion.occurred_at,
                    conversion.message_id,
                ),
            )
            if (conversion.message_click_id, conversion.attribution_type) != before:
                conversion.save()
                changed += 1
                if conversion.raw_click_id != (previous_click and previous_click.pk):
                    conversion_reattributed(_loaded(conversion), previous_click)
    return changed


def _loaded(conversion: Conversion) -> Conversion:
    """The conversion with what its event names (the new credit's click, message...)."""
    return Conversion.objects.select_related(
        "contact", "message", "offer", "campaign", "creative", "message_click"
    ).get(pk=conversion.pk)
