"""The read replica: which reads may go to it, and when they must stay on the primary.

Only code inside `replica_reads(account_id)` reads from the replica (dashboard pages and the
report API wrap their views in it); everything else, and every write, uses the primary. Inside
it, reads stay on the primary when the replica is down, more than
DATABASE_REPLICA_MAX_LAG_SECONDS behind, or when the account wrote something the replica has
not replayed yet (read-your-write: `ReplicaStickMiddleware`).

The lag needs no heartbeat table: at most every DATABASE_REPLICA_CHECK_SECONDS a process reads
the primary's WAL position and the replica's replay position, and keeps the primary's
(time, position) samples for about the lag limit. The lag is the age of the newest sample the
replica has replayed past; when none qualifies it is too far behind. On an idle primary the
position does not move, so the newest sample qualifies and the lag is zero.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponseBase

log = logging.getLogger(__name__)

REPLICA = "replica"
PRIMARY = "default"
T = TypeVar("T")

# Set only by replica_reads(): True while the block's reads may go to the replica.
_use_replica: ContextVar[bool] = ContextVar("trackly_replica_reads", default=False)


def configured() -> bool:
    return REPLICA in settings.DATABASES


def stick_key(account_id: int) -> str:
    return f"replica:stick:{account_id}"


def lag_seconds(samples: list[tuple[float, int]], replay_lsn: int, now: float) -> float | None:
    """The age of the newest primary sample (time, lsn) the replica has replayed past, or
    None when none qualifies (it is further behind than the samples reach)."""
    replayed = [at for at, lsn in samples if lsn <= replay_lsn]
    return now - max(replayed) if replayed else None


class ReplicaHealth:
    """One process's view of the replica: up or down, and how far behind. The clock and the
    limit are injectable for tests."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        max_lag: float | None = None,
        check_every: float | None = None,
    ) -> None:
        self.clock = clock
        self.max_lag = settings.DATABASE_REPLICA_MAX_LAG_SECONDS if max_lag is None else max_lag
        self.check_every = (
            settings.DATABASE_REPLICA_CHECK_SECONDS if check_every is None else check_every
        )
        self.samples: deque[tuple[float, int]] = deque()
        self.checked_at: float | None = None
        self.down_until = float("-inf")
        self.replay_lsn = -1
        self.lag: float | None = None

    def mark_down(self) -> None:
        self.down_until = self.clock() + self.check_every
        self.checked_at = None

    def record(self, now: float, primary_lsn: int, replay_lsn: int) -> None:
        """One check's positions: keep the primary's samples for about the lag limit."""
        self.samples.append((now, primary_lsn))
        while len(self.samples) > 1 and now - self.samples[0][0] > self.max_lag + self.check_every:
            self.samples.popleft()
        self.replay_lsn = replay_lsn
        self.lag = lag_seconds(list(self.samples), replay_lsn, now)
        self.checked_at = now

    def check(self) -> None:
        now = self.clock()
        if self.checked_at is not None and now - self.checked_at < self.check_every:
            return
        try:
            primary_lsn = current_lsn()
            with connections[REPLICA].cursor() as cursor:
                cursor.execute("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn")
                (replay,) = cursor.fetchone()
        except DatabaseError:
            log.warning("replica unreachable: reads stay on the primary", exc_info=True)
            self.mark_down()
            return
        self.record(now, primary_lsn, int(replay if replay is not None else -1))

    def usable(self, account_id: int) -> bool:
        if self.clock() < self.down_until:
            return False
        self.check()
        if self.clock() < self.down_until or self.lag is None or self.lag > self.max_lag:
            return False
        try:
            stuck = cache.get(stick_key(account_id))
        except Exception:  # noqa: BLE001 - an unreachable cache: cannot tell, so the primary
            log.warning("cache unreachable: account %s reads from the primary", account_id)
            return False
        return stuck is None or self.replay_lsn >= int(stuck)


_health: ReplicaHealth | None = None


def health() -> ReplicaHealth:
    global _health
    if _health is None:
        _health = ReplicaHealth()
    return _health


def set_health(value: ReplicaHealth | None) -> None:
    """Tests: an injected clock or limit (None: back to the settings')."""
    global _health
    _health = value


def current_lsn() -> int:
    with connections[PRIMARY].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        (lsn,) = cursor.fetchone()
    return int(lsn)


@contextlib.contextmanager
def replica_reads(account_id: int) -> Iterator[bool]:
    """The block's reads go to the replica when it may serve this account; yields whether."""
    use = configured() and health().usable(account_id)
    token = _use_replica.set(use)
    try:
        yield use
    finally:
        _use_replica.reset(token)


def read_for(account_id: int, read: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`read(*args, **kwargs)` with its reads on the replica when it may serve the account.
    A replica failing mid-read marks it down and runs the read again on the primary: only
    reads (GET pages and reports) come here, so running one twice is safe."""
    with replica_reads(account_id) as on_replica:
        if not on_replica:
            return read(*args, **kwargs)
        try:
            return read(*args, **kwargs)
        except DatabaseError:
            log.warning("replica failed mid-read: again on the primary", exc_info=True)
            health().mark_down()
            with contextlib.suppress(DatabaseError):
                connections[REPLICA].close()
    return read(*args, **kwargs)


class ReplicaRouter:
    """Reads inside replica_reads() to the replica, when allowed; everything else to the
    primary (named explicitly, so no other router or default decides)."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return REPLICA if _use_replica.get() else PRIMARY

    def db_for_write(self, model: type, **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the same data on both

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY


class ReplicaStickMiddleware:
    """Read-your-write: after a successful non-GET request of an account (its API key's, or
    the dashboard page's), that account reads from the primary until the replica has
    replayed past the primary's position at that moment."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            configured()
            and request.method not in ("GET", "HEAD", "OPTIONS")
            and response.status_code < 400
        ):
            account_id = _account_of(request)
            if account_id is not None:
                self.stick(account_id)
        return response

    @staticmethod
    def stick(account_id: int) -> None:
        timeout = (
            settings.DATABASE_REPLICA_MAX_LAG_SECONDS + settings.DATABASE_REPLICA_CHECK_SECONDS + 5
        )
        try:
            cache.set(stick_key(account_id), current_lsn(), timeout)
        except Exception:  # noqa: BLE001 - the write succeeded; its answer must stand
            log.warning("could not record account %s's write for the replica", account_id)


def _account_of(request: HttpRequest) -> int | None:
    # An API key's principal carries its account (DRF sets request.user on the Django
    # request too); a dashboard page has it in the URL, and answered < 400 only to a member.
    account = getattr(getattr(request, "user", None), "account", None)
    if account is not None:
        return account.pk
    match = getattr(request, "resolver_match", None)
    account_id = match.kwargs.get("account_id") if match else None
    return int(account_id) if account_id is not None else None
