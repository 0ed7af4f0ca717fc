"""Random identifiers for short links and clicks. No Django here."""

from __future__ import annotations

import secrets
import string

ALPHABET = string.ascii_letters + string.digits
LINK_ID_LENGTH = 7
CLICK_ID_LENGTH = 16


def _random_string(length: int) -> str:
    # Bytes modulo 64, rejecting 62 and 63: uniform over the 62 characters, from the
    # operating system's cryptographic source, without a call per character.
    out: list[str] = []
    while len(out) < length:
        for byte in secrets.token_bytes(length * 2):
            value = byte & 63
            if value < 62:
                out.append(ALPHABET[value])
                if len(out) == length:
                    break
    return "".join(out)


def new_link_id() -> str:
    return _random_string(LINK_ID_LENGTH)


def new_click_id() -> str:
    return _random_string(CLICK_ID_LENGTH)


def is_link_id(value: str) -> bool:
    return len(value) == LINK_ID_LENGTH and all(c in ALPHABET for c in value)


def is_click_id(value: str) -> bool:
    return len(value) == CLICK_ID_LENGTH and all(c in ALPHABET for c in value)
