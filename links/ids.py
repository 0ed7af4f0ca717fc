"""Identifiers for short links and clicks. No Django here.

A click id carries its click's time: its first 6 characters are the click's UTC second
counted from 2020-01-01 in base 62, so a lookup by click id (every postback) can bound the
click's time and read one partition of the raw clicks once that table is partitioned.
"""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime, timedelta

ALPHABET = string.ascii_letters + string.digits
LINK_ID_LENGTH = 7
CLICK_ID_LENGTH = 16
CLICK_TIME_LENGTH = 6  # 62^6 seconds: about 1,800 years from the epoch below
CLICK_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
# How far past the id's second a lookup looks for the click: the row's clicked_at is the id's
# time to the second (both come from the one clicked_at), a day is slack for any clock path.
CLICK_TIME_SLACK = timedelta(days=1)
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


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


def click_time_prefix(at: datetime) -> str:
    """The 6 characters naming `at`'s UTC second (before the epoch counts as the epoch)."""
    seconds = max(0, int((at - CLICK_EPOCH).total_seconds()))
    out = []
    for _ in range(CLICK_TIME_LENGTH):
        seconds, digit = divmod(seconds, 62)
        out.append(ALPHABET[digit])
    return "".join(reversed(out))


def new_click_id(at: datetime) -> str:
    """16 letters or digits: `at`'s second, then 10 random characters. The random part is
    62^10 ~ 2^59.5 per second, so guessing a click id stays hopeless and two clicks in one
    second collide with odds of about n^2 / 2^60.5 (the unique index refuses the rare one)."""
    return click_time_prefix(at) + _random_string(CLICK_ID_LENGTH - CLICK_TIME_LENGTH)


def click_id_time(click_id: str, *, now: datetime | None = None) -> datetime | None:
    """The UTC second a click id carries, or None when it is no click id or decodes outside
    2020-01-01 .. now + 1 day (an id minted before ids carried time: random characters)."""
    if not is_click_id(click_id):
        return None
    seconds = 0
    for c in click_id[:CLICK_TIME_LENGTH]:
        seconds = seconds * 62 + _VALUE[c]
    if seconds > ((now or datetime.now(UTC)) + CLICK_TIME_SLACK - CLICK_EPOCH).total_seconds():
        return None
    return CLICK_EPOCH + timedelta(seconds=seconds)


def click_id_window(click_id: str) -> tuple[datetime, datetime] | None:
    """[t, t + 1 day) holding the click's clicked_at, or None when the id carries no time."""
    at = click_id_time(click_id)
    return None if at is None else (at, at + CLICK_TIME_SLACK)


def is_link_id(value: str) -> bool:
    return len(value) == LINK_ID_LENGTH and all(c in ALPHABET for c in value)


def is_click_id(value: str) -> bool:
    return len(value) == CLICK_ID_LENGTH and all(c in ALPHABET for c in value)
