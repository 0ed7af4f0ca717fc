"""The webhooks API end to end with the real sender and a real receiver: the secret the API
shows is the one deliveries are signed with, a test event arrives and shows in the log, a
replay arrives again with the same webhook-id, a rotation signs with both secrets."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.conftest import AccountFixture
from tests.webhooks.receiver import Receiver
from webhooks.delivery import deliveries_send_due
from webhooks.fanout import events_fan_out

pytestmark = pytest.mark.django_db


def test_a_test_event_is_signed_with_the_shown_secret_logged_replayed_and_rotated(
    owner: AccountFixture, receiver: Receiver
) -> None:
    created = owner.post(
        "/api/v1/webhooks", {"url": receiver.url(), "events": ["conversion.recorded"]}
    ).json()
    secret, pk = created["secret"], created["id"]
    started = timezone.now() - dt.timedelta(seconds=1)

    queued = owner.post(f"/api/v1/webhooks/{pk}/test", {})
    assert queued.status_code == 202
    events_fan_out()
    assert deliveries_send_due() == 1
    (got,) = receiver.received
    body = got.verified(secret)
    assert body["type"] == "webhook.test" and body["data"]["webhook"] == {"id": pk}

    log = owner.get(f"/api/v1/webhooks/{pk}/deliveries").json()["results"]
    assert len(log) == 1 and log[0]["event_id"] == queued.json()["event_id"]
    assert log[0]["webhook_id"] == got.msg_id
    assert log[0]["status"] == "delivered" and log[0]["last_status_code"] == 200
    assert [a["status_code"] for a in log[0]["attempts_log"]] == [200]

    replayed = owner.post(f"/api/v1/webhooks/{pk}/replay", {"since": started.isoformat()})
    assert replayed.json() == {"deliveries": 1, "reset": 1, "created": 0}
    assert deliveries_send_due() == 1
    again = receiver.received[-1]
    assert again.msg_id == got.msg_id and again.verified(secret) == body

    rotated = owner.post(f"/api/v1/webhooks/{pk}/rotate-secret", {}).json()
    owner.post(f"/api/v1/webhooks/{pk}/test", {})
    events_fan_out()
    assert deliveries_send_due() == 1
    last = receiver.received[-1]
    assert len(last.headers["webhook-signature"].split()) == 2
    assert last.verified(rotated["secret"])["type"] == "webhook.test"
    assert last.verified(secret)["type"] == "webhook.test"  # the overlap
