"""The event log: numbered after commit in order, read once per consumer through a cursor."""

import pytest

from core.events import event_body, event_emit, events_batch, events_sequence
from core.models import Account, Event

pytestmark = pytest.mark.django_db(transaction=True)


def test_events_are_numbered_in_order_and_each_consumer_reads_each_once():
    account = Account.objects.create(name="a")
    for i in range(3):
        event_emit(account_id=account.pk, type="message.clicked", data={"i": i})
    assert events_sequence() == 3
    event_emit(account_id=account.pk, type="webhook.test", data={})
    assert events_sequence() == 1
    assert events_sequence() == 0
    assert sorted(Event.objects.values_list("sequence", flat=True)) == [1, 2, 3, 4]

    with events_batch("x", limit=2) as batch:
        assert [e.data["i"] for e in batch] == [0, 1]
    with events_batch("x", types=["message.clicked"]) as batch:
        assert [e.data["i"] for e in batch] == [2]  # and the cursor passes the webhook.test
    with events_batch("x") as batch:
        assert batch == []
    with events_batch("y") as batch:  # another consumer has its own cursor
        assert len(batch) == 4


def test_a_failed_consumer_block_leaves_its_cursor():
    account = Account.objects.create(name="a")
    event_emit(account_id=account.pk, type="message.clicked", data={})
    events_sequence()
    with pytest.raises(RuntimeError), events_batch("x") as batch:
        assert len(batch) == 1
        raise RuntimeError
    with events_batch("x") as batch:
        assert len(batch) == 1


def test_body_has_type_utc_timestamp_and_sequence():
    account = Account.objects.create(name="a")
    event_emit(account_id=account.pk, type="webhook.test", data={"hello": "world"})
    events_sequence()
    body = event_body(Event.objects.get())
    assert body["type"] == "webhook.test"
    assert body["timestamp"].endswith("Z") and body["timestamp"][10] == "T"
    assert body["data"] == {"hello": "world", "sequence": 1}


def test_an_unknown_type_is_refused():
    account = Account.objects.create(name="a")
    with pytest.raises(ValueError, match="unknown event type"):
        event_emit(account_id=account.pk, type="message.opened", data={})
