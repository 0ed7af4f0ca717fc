"""Shared test fixtures. Tests run against the real PostgreSQL and Redis of `make test`."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from core import redis_conn
from core.models import Account, ApiKey, TrackingDomain
from links import resolve
from trackly.celery import app as celery_app

_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def _isolated_cache(settings: Any) -> Any:
    # Clicks are written in the request unless a test turns the pipeline on
    # (tests/links/test_click_pipeline.py); each test starts with cold caches.
    settings.CLICK_STREAM = False
    cache.clear()
    resolve.local.clear()
    redis_conn.reset()
    yield
    cache.clear()
    resolve.local.clear()


@pytest.fixture(autouse=True, scope="session")
def _eager_celery() -> Any:
    # Tasks run in-process here; the broker path is exercised by the ingestion tests.
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield


@pytest.fixture
def click_stream(settings: Any) -> Any:
    """The click pipeline on, with a stream of this test's own; yields the Redis client."""
    settings.CLICK_STREAM = True
    settings.CLICK_STREAM_KEY = f"test:clicks:{uuid.uuid4().hex}"
    client = redis_conn.client()
    yield client
    client.delete(settings.CLICK_STREAM_KEY, f"{settings.CLICK_STREAM_KEY}:dead")


class AccountFixture:
    """An account with a tracking domain, a key and a postback token (which it requires on
    /conv, as every new account does), and an API client that uses the key."""

    def __init__(
        self, account: Account, domain: TrackingDomain, api_key: str, postback_token: str
    ) -> None:
        self.account = account
        self.domain = domain
        self.api_key = api_key
        self.postback_token = postback_token
        self.client = APIClient(HTTP_HOST="localhost")
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")

    def post(self, path: str, data: Any) -> Any:
        return self.client.post(path, data, format="json")

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params)

    def mint(self, **fields: Any) -> dict[str, Any]:
        payload = {"contact": {"external_id": f"c{next(_counter)}"}, "body": "Hi"} | fields
        response = self.post("/api/v1/messages", payload)
        assert response.status_code == 201, response.content
        return response.json()


@pytest.fixture
def make_account(db: Any) -> Callable[..., AccountFixture]:
    def make(
        name: str | None = None, host: str | None = None, **account_fields: Any
    ) -> AccountFixture:
        n = next(_counter)
        account = Account(name=name or f"Account {n}", **account_fields)
        postback_token = account.rotate_postback_token()
        account.save()
        domain = TrackingDomain.objects.create(
            account=account, host=host or f"go{n}.example.com", is_primary=True
        )
        _, raw = ApiKey.generate(account=account)
        return AccountFixture(account, domain, raw, postback_token)

    return make


@pytest.fixture
def owner(make_account: Callable[..., AccountFixture]) -> AccountFixture:
    return make_account("Owner Co", host="go.owner.example")


@pytest.fixture
def outsider(make_account: Callable[..., AccountFixture]) -> AccountFixture:
    return make_account("Outsider Inc", host="go.outsider.example")
