"""Standard Webhooks signing: the three headers of one attempt, signed with every secret the
endpoint signs with now (two during a rotation's overlap)."""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

from standardwebhooks import Webhook

USER_AGENT = "Trackly-Webhooks/1"


def body_bytes(body: dict[str, Any]) -> bytes:
    """The compact JSON sent, and signed, as it is: the same bytes for both."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def signature_header(secrets: list[str], msg_id: str, moment: dt.datetime, body: bytes) -> str:
    """`v1,<base64>` for each secret, space-separated (Standard Webhooks)."""
    text, utc = body.decode(), moment.astimezone(dt.UTC)
    return " ".join(_webhook(secret).sign(msg_id, utc, text) for secret in secrets)


@functools.lru_cache(maxsize=256)
def _webhook(secret: str) -> Webhook:
    return Webhook(secret)


def signed_headers(
    secrets: list[str], msg_id: str, moment: dt.datetime, body: bytes
) -> dict[str, str]:
    """The headers of one attempt at `moment` (each attempt is signed afresh)."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature_header(secrets, msg_id, moment, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }
