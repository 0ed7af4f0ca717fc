"""Hooks: how a lower layer tells a higher one that something happened, without importing
it. The higher app registers its receiver in its AppConfig.ready; the lower one sends.

Core's own hooks are here; links has its own (links/hooks.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Hook:
    """The receivers registered for one event, called in the order they registered."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.receivers: list[Callable[..., Any]] = []

    def __repr__(self) -> str:
        return f"Hook({self.name!r}, {len(self.receivers)} receivers)"

    def register(self, receiver: Callable[..., Any]) -> None:
        # Idempotent: a second ready() (a test re-populating the app registry) adds nothing.
        if receiver not in self.receivers:
            self.receivers.append(receiver)

    def send(self, *args: Any) -> None:
        for receiver in self.receivers:
            receiver(*args)


# A sending list's bot-detection switch changed and the change is committed; called with
# (list_id, enabled). Its counted clicks must be recomputed (attribution does it).
bot_detection_switched = Hook("bot_detection_switched")

# A contact is being erased, inside core.erasure.contact_erase's transaction; called with
# (account_id, contact_id). Each app scrubs what it keeps of the contact (links: raw clicks'
# IP and headers; attribution: the postback log's `contact=` values; audiences: labels and
# memberships), set-based, and idempotently (a second erasure finds nothing left).
contact_erasing = Hook("contact_erasing")
