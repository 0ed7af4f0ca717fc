"""The read replica (core.replica).

Against a real streaming replica: a private primary and a hot standby made with
`pg_basebackup -R` (tests.servers.ReplicatedPostgres), migrated once for the module. Each
scenario runs in a process of its own pointed at them (tests/core/replica_scenarios.py), so
the suite's database, connections and caches are never pointed elsewhere. And the lag rule
on its own, on recorded WAL positions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from core.replica import ReplicaHealth
from tests.servers import ROOT, ReplicatedPostgres


def _env(pair: ReplicatedPostgres) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": pair.primary.url,
        "DATABASE_REPLICA_URL": pair.replica.url,
        # Keys of this run's own: a remembered write of an earlier run's account 1 is not
        # this run's.
        "CACHE_KEY_PREFIX": f"test-replica-{uuid.uuid4().hex}",
        "APP_HOSTS": "localhost",
        "LOG_LEVEL": "ERROR",
    }


@pytest.fixture(scope="module")
def pair() -> Iterator[ReplicatedPostgres]:
    servers = ReplicatedPostgres()
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT, env=_env(servers), check=True, capture_output=True, text=True,
        )  # fmt: skip
        yield servers
    finally:
        servers.destroy()


def _scenario(pair: ReplicatedPostgres, name: str, **env: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tests.core.replica_scenarios", name],
        cwd=ROOT, env={**_env(pair), **env}, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, f"{name}:\n{done.stdout}\n{done.stderr}"
    assert done.stdout.strip().endswith(f"ok {name}")


@pytest.mark.slow
def test_dashboard_and_report_reads_go_to_the_replica_writes_never(
    pair: ReplicatedPostgres,
) -> None:
    _scenario(pair, "reads_go_to_the_replica")


@pytest.mark.slow
def test_an_accounts_reads_stay_on_the_primary_until_its_write_is_replayed(
    pair: ReplicatedPostgres,
) -> None:
    _scenario(pair, "reads_after_a_write_stay_on_the_primary")


@pytest.mark.slow
def test_a_stopped_replica_leaves_reads_on_the_primary(pair: ReplicatedPostgres) -> None:
    # The scenario stops the replica itself, between its health check and a page's reads.
    stop = json.dumps(pair.replica.stop_command("immediate"))
    try:
        _scenario(pair, "reads_go_to_the_primary_when_the_replica_is_down", REPLICA_STOP=stop)
    finally:
        pair.replica.start()  # streams again, for the module's other tests


@pytest.mark.slow
def test_a_replica_more_than_30_s_behind_leaves_reads_on_the_primary(
    pair: ReplicatedPostgres,
) -> None:
    _scenario(pair, "reads_go_to_the_primary_when_the_replica_is_behind")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _health(clock: Clock) -> ReplicaHealth:
    return ReplicaHealth(clock=clock, max_lag=30, check_every=1, down_for=5)


def test_an_idle_primary_leaves_the_lag_at_zero() -> None:
    # No commit to replay for an hour (so now() - pg_last_xact_replay_timestamp() is an
    # hour), but the primary's position has not moved: the replica has everything.
    clock = Clock()
    health = _health(clock)
    for _ in range(3600):
        health.record(clock.now, primary=500, replayed=500)
        clock.now += 1
    health.record(clock.now, primary=500, replayed=500)
    assert health.lag() == 0


def test_a_paused_replica_is_as_old_as_its_last_catch_up() -> None:
    clock = Clock()
    health = _health(clock)
    health.record(clock.now, primary=500, replayed=500)  # caught up at 1000
    clock.now += 1
    health.record(clock.now, primary=700, replayed=500)  # a write the replica lacks
    clock.now += 20
    health.record(clock.now, primary=700, replayed=500)
    assert health.lag() == 21
    clock.now += 10  # 31 s since it had everything: the sample at 1000 is forgotten
    health.record(clock.now, primary=700, replayed=500)
    assert health.lag() is None
    health.record(clock.now, primary=700, replayed=700)  # replayed it: caught up now
    assert health.lag() == 0


def test_a_replica_behind_by_less_than_the_check_interval_keeps_its_lag_small() -> None:
    # Under steady writes the replica is always a little behind the newest sample: its lag
    # is the age of the newest sample it has passed, about one check interval.
    clock = Clock()
    health = _health(clock)
    for step in range(100):
        health.record(clock.now, primary=1000 + step * 10, replayed=1000 + step * 10 - 5)
        clock.now += 1
    assert health.lag() == 2
