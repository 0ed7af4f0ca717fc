"""The read replica against a real streaming replica: a private primary and a hot standby
made with pg_basebackup, Django's connections pointed at them for the test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections, router
from django.test.utils import override_settings
from rest_framework.test import APIClient

from core import replica
from core.models import Account, ApiKey, Message, TrackingDomain
from tests.helpers import wait_for
from tests.servers import ReplicatedPostgres

pytestmark = pytest.mark.slow


def _alias(port: int) -> dict[str, Any]:
    base = settings.DATABASES["default"]
    return {
        **base, "NAME": "postgres", "USER": "postgres", "PASSWORD": "", "HOST": "127.0.0.1",
        "PORT": str(port), "CONN_MAX_AGE": 0, "TEST": {},
    }  # fmt: skip


def _reset_connections() -> None:
    for alias in list(connections.settings):
        with contextlib.suppress(AttributeError):
            del connections[alias]
    router.__dict__.pop("routers", None)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def servers(django_db_blocker: Any) -> Iterator[ReplicatedPostgres]:
    pair = ReplicatedPostgres()
    databases = {
        "default": _alias(pair.primary.port),
        "replica": {**_alias(pair.replica.port), "TEST": {"MIRROR": "default"}},
    }
    saved = connections.settings
    connections.close_all()
    try:
        routers = ["core.replica.ReplicaRouter"]
        with override_settings(DATABASES=databases, DATABASE_ROUTERS=routers):
            connections.settings = connections.configure_settings(databases)
            _reset_connections()
            with django_db_blocker.unblock():
                call_command("migrate", verbosity=0)
                replica.set_health(replica.ReplicaHealth(check_every=0))
                try:
                    yield pair
                finally:
                    replica.set_health(None)
                    connections.close_all()
    finally:
        connections.settings = saved
        _reset_connections()
        pair.destroy()


def _query(alias: str, sql: str) -> Any:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0] if cursor.description else None


def _replay_pause() -> None:
    # pg_wal_replay_pause() only asks: replay goes on until the startup process sees the
    # request, so a write right after it could still reach the replica. Wait until paused.
    _query("replica", "SELECT pg_wal_replay_pause()")
    wait_for(
        lambda: _query("replica", "SELECT pg_get_wal_replay_pause_state()") == "paused",
        30,
        "the replica's replay to pause",
    )


def _caught_up() -> bool:
    return bool(
        _query("replica", "SELECT pg_last_wal_replay_lsn()")
        == _query("default", "SELECT pg_current_wal_lsn()")
    )


def _account() -> tuple[Account, str]:
    account = Account(name="Replica Co")
    account.rotate_postback_token()
    account.save()
    TrackingDomain.objects.create(account=account, host="go.replica.example", is_primary=True)
    _, raw = ApiKey.generate(account=account)
    return account, raw


def _messages(account: Account) -> int:
    return Message.objects.filter(account=account).count()


def test_reads_go_to_the_replica_and_writes_never_do(servers: ReplicatedPostgres) -> None:
    account, _ = _account()
    wait_for(_caught_up, 30, "the replica to replay the setup")
    assert replica.health().usable(account.pk)  # a check while caught up: lag 0
    _replay_pause()
    Account.objects.filter(pk=account.pk).update(name="Renamed Co")  # on the primary

    def name() -> str:
        return Account.objects.get(pk=account.pk).name

    # Replay is paused: the replica still has the old name, so the read went there.
    assert replica.read_for(account.pk, name) == "Replica Co"
    assert name() == "Renamed Co"  # outside replica_reads: the primary
    # A write inside replica_reads still goes to the primary (the replica would refuse it).
    with replica.replica_reads(account.pk) as on_replica:
        assert on_replica
        Account.objects.filter(pk=account.pk).update(name="Again Co")
    assert name() == "Again Co"
    assert _query("replica", "SELECT pg_is_in_recovery()") is True


def test_after_a_mint_the_account_reads_from_the_primary(servers: ReplicatedPostgres) -> None:
    account, key = _account()
    wait_for(_caught_up, 30, "the replica to replay the setup")
    assert replica.health().usable(account.pk)  # a check while caught up: lag 0
    _replay_pause()
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    response = client.post(
        "/api/v1/messages", {"contact": {"external_id": "c1"}, "body": "Hi"}, format="json"
    )
    assert response.status_code == 201, response.content
    # The replica has not replayed the mint: this account's reads stay on the primary.
    assert replica.read_for(account.pk, _messages, account) == 1
    with replica.replica_reads(account.pk) as on_replica:
        assert not on_replica
    # Once the replica has replayed past the mint, it serves the account again.
    _query("replica", "SELECT pg_wal_replay_resume()")
    wait_for(_caught_up, 30, "the replica to replay the mint")
    with replica.replica_reads(account.pk) as on_replica:
        assert on_replica
        assert _messages(account) == 1
    # The report API answers from the replica too.
    assert client.get("/api/v1/reports/campaigns").status_code == 200


def test_a_stopped_replica_leaves_reads_on_the_primary(servers: ReplicatedPostgres) -> None:
    account, key = _account()
    connections.close_all()
    servers.replica.stop("immediate")
    assert replica.read_for(account.pk, _messages, account) == 0
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/reports/campaigns").status_code == 200


def test_a_replica_more_than_the_limit_behind_is_skipped(servers: ReplicatedPostgres) -> None:
    account, _ = _account()
    wait_for(_caught_up, 30, "the replica to replay the setup")
    clock = Clock()
    health = replica.ReplicaHealth(clock=clock, max_lag=30, check_every=2)
    replica.set_health(health)
    assert health.usable(account.pk)  # caught up: lag 0
    _replay_pause()
    Account.objects.filter(pk=account.pk).update(name="Later Co")
    clock.now += 10
    assert health.usable(account.pk)  # 10 s behind
    assert health.lag == pytest.approx(10)
    clock.now += 21
    assert not health.usable(account.pk)  # 31 s behind
    with replica.replica_reads(account.pk) as on_replica:
        assert not on_replica
