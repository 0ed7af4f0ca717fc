"""Links' hooks: what the click pipeline tells the apps above it (core/hooks.py says how
hooks work)."""

from __future__ import annotations

from core.hooks import Hook

# A batch of clicks is committed by the click consumer; called with the batch's click ids
# (the public codes), stored now or before. Attribution settles the postbacks that named
# one of them while it was still on its way. Receivers run in the consumer's loop: quick,
# and their failure is logged, never holds up the stream.
clicks_stored = Hook("clicks_stored")

# A (contact, message)'s counted click moved after a verdict change or a list's switch
# (links.counting.message_click_recompute): made, moved to another click, or removed.
# Called with (contact_id, message_id, offer_id): the offer of the counted click it had,
# else of the one it has now. Runs inside the recompute's transaction, with the message row
# locked; attribution re-attributes the contact's conversions on that offer.
counted_click_moved = Hook("counted_click_moved")
