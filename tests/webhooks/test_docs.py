"""docs/webhooks.md's verification by hand agrees with the standardwebhooks package, and
the docs name every event type there is."""

from __future__ import annotations

import datetime as dt
import re
import time
from pathlib import Path

from standardwebhooks.webhooks import Webhook

from core.events import EVENT_TYPES, SUBSCRIBABLE
from webhooks.services import secret_new

DOCS = Path(__file__).resolve().parents[2] / "docs"
DOC = (DOCS / "webhooks.md").read_text()


def test_the_docs_list_every_event_type() -> None:
    subscribable = DOC.split("- `events`:")[1].split("- `description`")[0]
    assert [t for t in SUBSCRIBABLE if f"`{t}`" not in subscribable] == []
    events = (DOCS / "events.md").read_text()
    assert [t for t in EVENT_TYPES if f"### `{t}`" not in events] == []


def test_the_documented_check_accepts_standard_signatures_and_refuses_the_rest() -> None:
    code = re.findall(r"```python\n(.*?)```", DOC, re.S)[1]
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - our own documentation
    verified = namespace["verified"]
    secret, other = secret_new(), secret_new()
    now = dt.datetime.now(dt.UTC)
    body = '{"type":"webhook.test","data":{"sequence":1}}'
    headers = {
        "webhook-id": "msg_01JNC4Y0X9Q6S1M3ZB7C2D8E5F",
        "webhook-timestamp": str(int(now.timestamp())),
        # A rotation's two signatures: either secret verifies.
        "webhook-signature": " ".join(
            Webhook(s).sign("msg_01JNC4Y0X9Q6S1M3ZB7C2D8E5F", now, body) for s in (other, secret)
        ),
    }
    assert verified(secret, headers, body.encode())
    assert verified(other, headers, body.encode())
    assert Webhook(secret).verify(body, headers) == {
        "type": "webhook.test",
        "data": {"sequence": 1},
    }
    assert not verified(secret_new(), headers, body.encode())
    assert not verified(secret, headers, body.encode() + b" ")
    # Signed rightly, but more than 5 minutes ago.
    then = dt.datetime.fromtimestamp(int(time.time()) - 301, dt.UTC)
    stale = headers | {
        "webhook-timestamp": str(int(then.timestamp())),
        "webhook-signature": Webhook(secret).sign(headers["webhook-id"], then, body),
    }
    assert not verified(secret, stale, body.encode())
    fresh = stale | {"webhook-timestamp": headers["webhook-timestamp"]}
    fresh["webhook-signature"] = Webhook(secret).sign(headers["webhook-id"], now, body)
    assert verified(secret, fresh, body.encode())
