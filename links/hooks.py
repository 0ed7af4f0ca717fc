"""Links' hooks: what the click pipeline tells the apps above it (core/hooks.py says how
hooks work)."""

from __future__ import annotations

from core.hooks import Hook

# A batch of clicks is committed by the click consumer; called with the batch's click ids
# (the public codes), stored now or before. Attribution settles the postbacks that named
# one of them while it was still on its way. Receivers run in the consumer's loop: quick,
# and their failure is logged, never holds up the stream.
clicks_stored = Hook("clicks_stored")
