"""The read replica's scenarios, each run by tests/core/test_replica.py in a process of its own
whose DATABASE_URL is the test's private primary and DATABASE_REPLICA_URL its streaming
replica (so nothing of the suite's own database, connections or caches is touched).

`python -m tests.core.replica_scenarios NAME`: exits 0 when every assertion of NAME held.
The requests go through Django's test clients in this process, so the replica's health can
be given an injected clock (ReplicaHealth(clock=...)).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trackly.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connections  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from core import replica  # noqa: E402
from core.models import Account, ApiKey, Campaign, Membership, TrackingDomain  # noqa: E402
from reporting.models import DailyRollup  # noqa: E402
from tests.helpers import wait_for  # noqa: E402


class Clock:
    """The replica health's clock, moved by the scenario."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _one(alias: str, sql: str) -> Any:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0] if cursor.description else None


def _resume() -> None:
    _one("replica", "SELECT pg_wal_replay_resume()")


def _pause() -> None:
    # pg_wal_replay_pause() only asks: replay goes on until the startup process sees the
    # request. Wait until it says paused, so a write after this is not replayed.
    _one("replica", "SELECT pg_wal_replay_pause()")
    wait_for(
        lambda: _one("replica", "SELECT pg_get_wal_replay_pause_state()") == "paused",
        60,
        "the replica's replay to pause",
    )


def _replayed(lsn: int) -> bool:
    return replica.replay_lsn() >= lsn


def _caught_up() -> None:
    """Until the replica has replayed everything the primary has written so far."""
    target = replica.primary_lsn()
    wait_for(lambda: _replayed(target), 60, "the replica to catch up")


class Tenant:
    """An account with a domain, a campaign with one day of figures, a member logged in to
    the dashboard and an API client with the account's key."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:8]
        self.account = Account(name=f"Replica {tag}")
        self.account.rotate_postback_token()
        self.account.save()
        TrackingDomain.objects.create(
            account=self.account, host=f"go-{tag}.replica.example", is_primary=True
        )
        self.campaign = Campaign.objects.create(account=self.account, name="Before")
        DailyRollup.objects.create(
            account=self.account, day=timezone.localdate(), campaign=self.campaign, sends=1
        )
        _, key = ApiKey.generate(account=self.account)
        self.api = APIClient(HTTP_HOST="localhost")
        self.api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        user = get_user_model().objects.create_user(f"member-{tag}", password=None)
        Membership.objects.create(user=user, account=self.account)
        self.dashboard = Client(HTTP_HOST="localhost")
        self.dashboard.force_login(user)

    def report_labels(self) -> list[str]:
        response = self.api.get("/api/v1/reports/campaigns")
        assert response.status_code == 200, response.content
        return [row["label"] for row in response.json()["results"]]

    def page(self, path: str) -> Any:
        return self.dashboard.get(f"/dashboard/{self.account.pk}/{path}")

    def rename_on_the_primary(self, name: str) -> None:
        # A write outside any request of the account: nothing remembers it for the account.
        Campaign.objects.filter(pk=self.campaign.pk).update(name=name)
        assert _one("default", "SELECT pg_is_in_recovery()") is False

    def mint(self) -> int:
        response = self.api.post(
            "/api/v1/messages",
            {"contact": {"external_id": f"c-{uuid.uuid4().hex[:6]}"}, "body": "Hi",
             "campaign": "Before"},
            format="json",
        )  # fmt: skip
        assert response.status_code == 201, response.content
        return int(response.json()["id"])


def _start(health: replica.ReplicaHealth | None = None) -> Tenant:
    """A tenant, the replica caught up with it, and a health that sees it caught up."""
    _resume()
    replica.set_health(health or replica.ReplicaHealth(check_every=0))
    tenant = Tenant()
    _caught_up()
    wait_for(lambda: replica.health().usable(), 60, "the replica to be seen caught up")
    return tenant


def reads_go_to_the_replica() -> None:
    tenant = _start()
    assert tenant.report_labels() == ["Before"]
    _pause()
    tenant.rename_on_the_primary("After")
    # Replay is paused: the replica still has the old name, so these reads went there.
    assert tenant.report_labels() == ["Before"]
    page = tenant.page("campaigns/")
    assert page.status_code == 200
    assert b"Before" in page.content and b"After" not in page.content
    # Outside read_from_replica, the primary: the redirect, postbacks, writing APIs.
    assert Campaign.objects.get(pk=tenant.campaign.pk).name == "After"
    # A write inside read_from_replica goes to the primary (the replica would refuse it).
    with replica.read_from_replica(tenant.account.pk) as on_replica:
        assert on_replica
        Campaign.objects.filter(pk=tenant.campaign.pk).update(name="Again")
        assert Campaign.objects.get(pk=tenant.campaign.pk).name == "Before"  # the replica's
    assert Campaign.objects.get(pk=tenant.campaign.pk).name == "Again"
    assert _one("replica", "SELECT pg_is_in_recovery()") is True
    _resume()


def reads_after_a_write_stay_on_the_primary() -> None:
    tenant = _start()
    _pause()
    # A mint, then its message's page at once: the replica has not replayed the mint.
    message_id = tenant.mint()
    written = replica.primary_lsn()
    page = tenant.page(f"messages/{message_id}/")
    assert page.status_code == 200, page.status_code  # served by the primary: no 404
    # A settings change through the API, then the report: it shows the new name.
    response = tenant.api.patch(
        f"/api/v1/campaigns/{tenant.campaign.pk}", {"name": "Renamed"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert tenant.report_labels() == ["Renamed"]
    with replica.read_from_replica(tenant.account.pk) as on_replica:
        assert not on_replica
    # Another account's reads are not held back by this one's writes.
    other = Tenant()
    with replica.read_from_replica(other.account.pk) as on_replica:
        assert on_replica
    # Once the replica has replayed past the writes, it serves the account again.
    _resume()
    wait_for(lambda: _replayed(written), 60, "the replica to replay the mint")
    _caught_up()
    _pause()
    tenant.rename_on_the_primary("Later")
    assert tenant.report_labels() == ["Renamed"]  # the replica's: replay is paused
    _resume()


def reads_go_to_the_primary_when_the_replica_is_down() -> None:
    health = replica.ReplicaHealth(check_every=0, down_for=3600)
    tenant = _start(health)
    health.check_every = 3600  # seen up: no check again for an hour unless it fails
    assert tenant.report_labels() == ["Before"]  # on the replica, which is up
    _pause()
    tenant.rename_on_the_primary("Current")
    assert tenant.report_labels() == ["Before"]
    # The replica goes away between the check and the next page's reads: the page fails
    # on it, marks it down and runs again on the primary.
    subprocess.run(json.loads(os.environ["REPLICA_STOP"]), check=True, capture_output=True)
    page = tenant.page("campaigns/")
    assert page.status_code == 200, page.status_code
    assert b"Current" in page.content
    assert health.clock() < health.down_until  # marked down
    # Down: the reads go to the primary without trying the replica.
    assert tenant.report_labels() == ["Current"]
    with replica.read_from_replica(tenant.account.pk) as on_replica:
        assert not on_replica
    # A fresh process (no check yet): its first check fails, and marks it down.
    replica.set_health(replica.ReplicaHealth(check_every=0))
    assert tenant.report_labels() == ["Current"]
    assert replica.health().clock() < replica.health().down_until


def reads_go_to_the_primary_when_the_replica_is_behind() -> None:
    clock = Clock()
    health = replica.ReplicaHealth(clock=clock, max_lag=30, check_every=0)
    tenant = _start(health)
    _pause()
    tenant.rename_on_the_primary("After")
    clock.now += 10
    assert tenant.report_labels() == ["Before"]  # 10 s behind: still the replica
    assert health.lag() == 10
    clock.now += 21
    assert tenant.report_labels() == ["After"]  # 31 s behind: the primary
    page = tenant.page("campaigns/")
    assert page.status_code == 200 and b"After" in page.content
    # Caught up again (replay resumed): the replica again, its lag measured afresh.
    _resume()
    _caught_up()
    wait_for(lambda: health.usable() and health.lag() == 0, 60, "the replica seen caught up again")
    with replica.read_from_replica(tenant.account.pk) as on_replica:
        assert on_replica


SCENARIOS: dict[str, Callable[[], None]] = {
    f.__name__: f
    for f in (
        reads_go_to_the_replica,
        reads_after_a_write_stay_on_the_primary,
        reads_go_to_the_primary_when_the_replica_is_down,
        reads_go_to_the_primary_when_the_replica_is_behind,
    )
}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]]()
    print("ok", sys.argv[1])
