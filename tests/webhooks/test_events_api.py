"""GET /api/v1/events: the account's numbered events past `after`, ascending, as webhooks
send them; `next` to page on; `read` keys; never another account's."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from core import bounds
from core.events import event_body, event_emit, events_sequence
from core.models import ApiKey, Event
from tests.conftest import AccountFixture
from tests.webhooks.endpoints import endpoint_make

pytestmark = pytest.mark.django_db


def emit(account: AccountFixture, n: int, type: str = "message.clicked", **fields: Any) -> None:
    for i in range(n):
        event_emit(account_id=account.account.pk, type=type, data={"i": i}, **fields)


def pull(account: AccountFixture, **params: Any) -> Any:
    return account.get("/api/v1/events", **params)


def sequences(answer: Any) -> list[int]:
    return [body["data"]["sequence"] for body in answer.json()["results"]]


def test_it_pages_through_the_accounts_events_with_after_and_next(
    owner: AccountFixture, outsider: AccountFixture
) -> None:
    emit(owner, 3)
    emit(outsider, 2)
    emit(owner, 2)
    events_sequence()
    mine = list(
        Event.objects.filter(account=owner.account)
        .order_by("sequence")
        .values_list("sequence", flat=True)
    )
    first = pull(owner, limit=3)
    assert first.status_code == 200
    assert sequences(first) == mine[:3]
    assert first.json()["next"] == mine[2]
    second = pull(owner, after=first.json()["next"], limit=3)
    assert sequences(second) == mine[3:]
    assert second.json()["next"] == mine[-1]
    last = pull(owner, after=second.json()["next"])
    assert last.json() == {"results": [], "next": None}
    # The outsider sees only its own.
    theirs = pull(outsider).json()
    assert len(theirs["results"]) == 2
    assert not set(sequences(pull(outsider))) & set(mine)


def test_bodies_are_the_webhook_bodies(owner: AccountFixture) -> None:
    emit(owner, 1, type="conversion.recorded")
    events_sequence()
    body = pull(owner).json()["results"][0]
    assert body == event_body(Event.objects.get())
    assert body["type"] == "conversion.recorded" and body["timestamp"].endswith("Z")
    assert set(body) == {"type", "timestamp", "data"}


def test_unnumbered_and_test_events_are_left_out_and_targeted_ones_kept(
    owner: AccountFixture,
) -> None:
    endpoint, _ = endpoint_make(owner)
    emit(owner, 1, type="webhook.test", endpoint_id=endpoint.pk)
    emit(owner, 1, type="automation.fired", endpoint_id=endpoint.pk)
    events_sequence()
    emit(owner, 1)  # not numbered yet
    answer = pull(owner).json()
    assert [b["type"] for b in answer["results"]] == ["automation.fired"]
    events_sequence()
    assert [b["type"] for b in pull(owner, after=answer["next"]).json()["results"]] == [
        "message.clicked"
    ]


def test_limit_defaults_to_100_and_is_at_most_1000(owner: AccountFixture) -> None:
    emit(owner, bounds.EVENTS_PAGE_DEFAULT + 5)
    events_sequence()
    assert len(pull(owner).json()["results"]) == bounds.EVENTS_PAGE_DEFAULT
    assert len(pull(owner, limit=1000).json()["results"]) == bounds.EVENTS_PAGE_DEFAULT + 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"after": "x"}, "after"),
        ({"after": "-1"}, "after"),
        ({"after": "1.5"}, "after"),
        ({"after": "9" * 40}, "after"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_a_bad_after_or_limit_is_a_400_naming_it(
    owner: AccountFixture, params: dict, field: str
) -> None:
    response = pull(owner, **params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


@pytest.mark.parametrize(("scopes", "code"), [(["read"], 200), (["config"], 403), (["mint"], 403)])
def test_it_takes_a_read_key(owner: AccountFixture, scopes: list[str], code: int) -> None:
    _, raw = ApiKey.generate(account=owner.account, name="k", scopes=scopes)
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/events").status_code == code
