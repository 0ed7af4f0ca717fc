"""Re-attribution: a contact's conversions credited again when a counted click they may
rest on moved (links.counting tells links.hooks.counted_click_moved; attribution.receivers
registers the receiver)."""

from __future__ import annotations

from attribution.models import Conversion
from attribution.services import attribution_apply, conversion_attribution


def conversions_reattribute(*, contact_id: int, offer_id: int | None) -> int:
    """Attribute again the accepted conversions of a contact on an offer."""
    changed = 0
    for conversion in (
        Conversion.objects.filter(
            contact_id=contact_id, offer_id=offer_id, status=Conversion.Status.ACCEPTED
        )
        .exclude(attribution_type=Conversion.AttributionType.OFFER)
        .select_related("account", "offer")
    ):
        before = (conversion.message_click_id, conversion.attribution_type)
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
    return changed
