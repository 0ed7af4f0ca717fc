"""Random identifiers for short links and clicks. No Django here."""

from __future__ import annotations

import secrets
import string

ALPHABET = string.ascii_letters + string.digits
LINK_ID_LENGTH = 7
CLICK_ID_LENGTH = 16
_CLICK_ALPHABET = ALPHABET  # URL-safe, and safe in any query string without encoding


def new_link_id() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LINK_ID_LENGTH))


def new_click_id() -> str:
    return "".join(secrets.choice(_CLICK_ALPHABET) for _ in range(CLICK_ID_LENGTH))


def is_link_id(value: str) -> bool:
    return len(value) == LINK_ID_LENGTH and all(c in ALPHABET for c in value)


def is_click_id(value: str) -> bool:
    return len(value) == CLICK_ID_LENGTH and all(c in _CLICK_ALPHABET for c in value)
