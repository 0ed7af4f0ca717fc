"""The API's rate limit per key: fixed 60-second windows in Redis, headers on every keyed
answer, 429 past it; tracking hosts never limited."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from rest_framework.test import APIClient

from core import redis_conn
from core.models import ApiKey
from tests.conftest import AccountFixture
from tests.core.test_api_scopes import _views
from tests.servers import ROOT, free_port
from trackly import ratelimit

pytestmark = pytest.mark.django_db

WINDOW_START = 1_800_000_000  # a multiple of 60: the start of a window
HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The limiter's clock, set by the test: `clock.now = ...`."""

    class Clock:
        now = WINDOW_START + 10.0

    monkeypatch.setattr(ratelimit, "clock", lambda: Clock.now)
    return Clock


@pytest.fixture
def limit(settings: Any) -> Any:
    def set_limit(value: str) -> None:
        settings.API_RATE_LIMIT = value

    return set_limit


def reports(account: AccountFixture) -> Any:
    return account.get("/api/v1/reports/campaigns")


def test_every_keyed_answer_carries_the_window(owner: AccountFixture, clock: Any) -> None:
    response = reports(owner)
    assert response.status_code == 200
    assert response["RateLimit-Limit"] == "600"
    assert response["RateLimit-Remaining"] == "599"
    assert response["RateLimit-Reset"] == "50"  # seconds to the window's end
    assert reports(owner)["RateLimit-Remaining"] == "598"


def test_past_the_limit_it_is_a_429_with_retry_after(
    owner: AccountFixture, clock: Any, limit: Any
) -> None:
    limit("3/min")
    assert [reports(owner).status_code for _ in range(3)] == [200, 200, 200]
    response = reports(owner)
    assert response.status_code == 429
    assert response["Retry-After"] == "50"
    assert response["RateLimit-Remaining"] == "0"
    assert response["RateLimit-Reset"] == "50"
    assert "3 requests per minute" in response.json()["detail"]


def test_a_new_window_starts_afresh(owner: AccountFixture, clock: Any, limit: Any) -> None:
    limit("2/min")
    clock.now = WINDOW_START + 59.5
    assert [reports(owner).status_code for _ in range(3)] == [200, 200, 429]
    assert reports(owner)["Retry-After"] == "1"
    clock.now = WINDOW_START + 60.2
    response = reports(owner)
    assert response.status_code == 200
    assert response["RateLimit-Remaining"] == "1"
    assert response["RateLimit-Reset"] == "60"


def test_the_count_is_kept_in_redis_per_key_and_window(owner: AccountFixture, clock: Any) -> None:
    reports(owner)
    reports(owner)
    prefix = owner.api_key.split("_")[1]
    key = cache.make_key(f"ratelimit:{prefix}:{WINDOW_START}")
    client = redis_conn.client()
    assert int(client.get(key)) == 2
    assert 0 < client.ttl(key) <= 61  # gone soon after its window


def test_each_key_has_its_own_window(owner: AccountFixture, clock: Any, limit: Any) -> None:
    limit("1/min")
    assert reports(owner).status_code == 200
    assert reports(owner).status_code == 429
    _, raw = ApiKey.generate(account=owner.account, name="second")
    other = APIClient(HTTP_HOST="localhost")
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert other.get("/api/v1/reports/campaigns").status_code == 200


def test_a_bulk_mint_counts_once(owner: AccountFixture, clock: Any) -> None:
    items = [{"contact": {"external_id": f"c{n}"}, "body": "Hi"} for n in range(5)]
    response = owner.post("/api/v1/messages/bulk", items)
    assert response.status_code == 201
    assert response["RateLimit-Remaining"] == "599"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/reports/nonsense", 404),
        ("/api/v1/reports/campaigns?start=yesterday", 400),
        ("/api/v1/messages/999999999", 404),
    ],
)
def test_error_answers_to_a_key_carry_the_window_too(
    owner: AccountFixture, clock: Any, path: str, status: int
) -> None:
    response = owner.client.get(path)
    assert response.status_code == status
    assert response["RateLimit-Remaining"] == "599"


def test_a_scope_refusal_is_counted_and_carries_the_window(
    owner: AccountFixture, clock: Any
) -> None:
    _, raw = ApiKey.generate(account=owner.account, name="reader", scopes=["read"])
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.post("/api/v1/lists", {"name": "VIP"}, format="json")
    assert response.status_code == 403
    assert response["RateLimit-Remaining"] == "599"


def test_a_request_without_a_valid_key_is_401_without_a_window(owner: AccountFixture) -> None:
    anonymous = APIClient(HTTP_HOST="localhost").get("/api/v1/reports/campaigns")
    wrong = APIClient(HTTP_HOST="localhost", HTTP_AUTHORIZATION="Bearer trk_00000000_nope")
    for response in (anonymous, wrong.get("/api/v1/reports/campaigns")):
        assert response.status_code == 401
        assert not any(h in response for h in HEADERS)


def test_zero_turns_the_limit_off(owner: AccountFixture, limit: Any) -> None:
    limit("0")
    responses = [reports(owner) for _ in range(3)]
    assert all(r.status_code == 200 for r in responses)
    assert not any(h in responses[-1] for h in HEADERS)


def test_without_redis_each_process_counts_on_its_own(
    owner: AccountFixture, clock: Any, limit: Any, settings: Any
) -> None:
    settings.REDIS_URL = ""
    redis_conn.reset()
    ratelimit._local.clear()
    limit("2/min")
    assert [reports(owner).status_code for _ in range(3)] == [200, 200, 429]
    clock.now = WINDOW_START + 61
    assert reports(owner).status_code == 200


def test_with_redis_down_each_process_counts_on_its_own(
    owner: AccountFixture, clock: Any, limit: Any, settings: Any
) -> None:
    # The limiter's Redis refuses connections (nothing listens there); the API goes on,
    # limited per process, and does not wait on Redis again until REDIS_RETRY_SECONDS.
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    redis_conn.reset()
    ratelimit._local.clear()
    limit("2/min")
    assert [reports(owner).status_code for _ in range(3)] == [200, 200, 429]
    assert not redis_conn.available()


def test_tracking_hosts_are_never_rate_limited(
    owner: AccountFixture, clock: Any, limit: Any
) -> None:
    limit("1/min")
    minted = owner.mint(body="Go {{l}}", links={"l": {"url": "https://shop.example/"}})
    link_id = minted["links"][0]["link_id"]
    tracking = Client(HTTP_HOST=owner.domain.host)
    answers = [tracking.get(f"/{link_id}") for _ in range(3)]
    token = owner.postback_token
    answers += [
        tracking.get("/conv", {"link_id": link_id, "txn_id": f"t{n}", "token": token})
        for n in range(3)
    ]
    answers += [tracking.get(f"/pixel/{link_id}.gif") for _ in range(3)]
    assert [a.status_code for a in answers] == [302] * 3 + [200] * 6
    assert all(a.status_code != 429 for a in answers)
    assert not any(h in a for a in answers for h in HEADERS)


def test_every_api_view_that_takes_a_key_is_rate_limited() -> None:
    open_views = {"SpectacularAPIView", "SpectacularSwaggerView"}
    for view in _views():
        if view.__name__ not in open_views:
            assert ratelimit.WithinRateLimit in view.permission_classes, view.__name__


@pytest.mark.parametrize(
    ("text", "per_minute"),
    [("600/min", 600), ("600", 600), ("10/m", 10), (" 5 / minute ", 5), ("0", 0)],
)
def test_the_rate_is_read_per_minute(text: str, per_minute: int) -> None:
    assert ratelimit.parse_rate(text) == per_minute


@pytest.mark.parametrize("text", ["", "fast", "600/s", "600/hour", "-1", "1.5/min"])
def test_a_rate_that_is_not_per_minute_is_refused(text: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="API_RATE_LIMIT"):
        ratelimit.parse_rate(text)


def test_a_mistyped_rate_stops_the_process_at_start_up() -> None:
    env = {**os.environ, "API_RATE_LIMIT": "lots"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "API_RATE_LIMIT must be requests per minute" in result.stderr
