"""The read replica: which reads may go to it, and when they must stay on the primary.

Nothing here without DATABASE_REPLICA_URL (no `replica` alias): every read and write uses
the one database, as before. With it, only code inside `read_from_replica(account_id)` reads
from the replica: the dashboard's pages (reporting.pages.account_page) and the report API
(reporting.api.ReportView, reporting.lift_api.LiftReport). The redirect, postbacks, every API
that writes, Celery and the commands never do, and every write goes to the primary.

Inside it, the reads still stay on the primary when
- the primary is inside a transaction (a read next to a write must see it);
- the replica is down: a failed connection marks it down for REPLICA_DOWN_SECONDS;
- the replica is more than REPLICA_MAX_LAG_SECONDS behind (see `ReplicaHealth`);
- the account wrote something the replica has not replayed yet (read-your-write): after a
  successful non-GET request of an account, `ReadYourWritesMiddleware` keeps the primary's
  WAL position under `replica:written:<account>`, and the account's reads use the replica
  only once its replay position has passed it.

The lag is not `now() - pg_last_xact_replay_timestamp()`, which grows on an idle primary (no
commits to replay) and would send every read to the primary at night. Instead each process
samples, at most every REPLICA_CHECK_SECONDS, the primary's WAL position (its clock time, the
position) and the replica's replay position; the replica holds everything the primary had at
the newest sample whose position it has replayed, so its lag is that sample's age. On an idle
primary the position does not move and the newest sample qualifies: lag 0. A replica whose
replay is paused is as fresh as the primary was when it was last caught up, and stays usable
until that is REPLICA_MAX_LAG_SECONDS ago. The clock is injectable (tests).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections
from django.http import HttpRequest, HttpResponseBase

logger = logging.getLogger(__name__)

REPLICA = "replica"
PRIMARY = "default"
T = TypeVar("T")

# True only inside read_from_replica() when the replica may serve the block's reads.
_on_replica: ContextVar[bool] = ContextVar("trackly_on_replica", default=False)


def configured() -> bool:
    return REPLICA in settings.DATABASES


def written_key(account_id: int) -> str:
    return f"replica:written:{account_id}"


def _lsn(alias: str, sql: str) -> int | None:
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT ({sql}) - '0/0'::pg_lsn")
        (value,) = cursor.fetchone()
    return None if value is None else int(value)


def primary_lsn() -> int:
    """The primary's WAL write position: past the end of every transaction committed so
    far (a commit waits for its WAL to be written), the same on an idle primary as the
    replica's replay position once it has caught up."""
    lsn = _lsn(PRIMARY, "pg_current_wal_lsn()")
    assert lsn is not None
    return lsn


def replay_lsn() -> int:
    """How far the replica has replayed the primary's WAL (-1: not yet at all)."""
    lsn = _lsn(REPLICA, "pg_last_wal_replay_lsn()")
    return -1 if lsn is None else lsn


class ReplicaHealth:
    """One process's view of the replica: down, or how far behind (module docstring).
    Threads share it; one of them checks at a time, the others use the last check."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        max_lag: float | None = None,
        check_every: float | None = None,
        down_for: float | None = None,
    ) -> None:
        self.clock = clock
        self.max_lag = settings.REPLICA_MAX_LAG_SECONDS if max_lag is None else max_lag
        self.check_every = settings.REPLICA_CHECK_SECONDS if check_every is None else check_every
        self.down_for = settings.REPLICA_DOWN_SECONDS if down_for is None else down_for
        # (clock time, primary WAL position), oldest first, none older than max_lag; and
        # the replica's replay position at the last check. One tuple, replaced whole by
        # each check, so a thread reading it never sees half a check.
        self._seen: tuple[tuple[tuple[float, int], ...], int] = ((), -1)
        self.checked_at: float | None = None
        self.down_until = float("-inf")
        self._lock = threading.Lock()

    @property
    def replayed(self) -> int:
        return self._seen[1]

    def mark_down(self) -> None:
        self.down_until = self.clock() + self.down_for
        self.checked_at = None

    def record(self, at: float, primary: int, replayed: int) -> None:
        kept = [(t, lsn) for t, lsn in self._seen[0] if at - t <= self.max_lag]
        self._seen = ((*kept, (at, primary)), replayed)
        self.checked_at = at

    def lag(self) -> float | None:
        """Seconds since the newest sample the replica has replayed past; None when it has
        replayed none of the last max_lag seconds' samples (too far behind, or no check
        yet)."""
        return self._lag(self._seen)

    def _lag(self, seen: tuple[tuple[tuple[float, int], ...], int]) -> float | None:
        samples, replayed = seen
        caught_up = [at for at, lsn in samples if lsn <= replayed]
        return self.clock() - caught_up[-1] if caught_up else None

    def check(self) -> None:
        """Sample both positions, unless the last check is recent or another thread is at
        it. A replica that does not answer is marked down."""
        now = self.clock()
        if self.checked_at is not None and now - self.checked_at < self.check_every:
            return
        if not self._lock.acquire(blocking=False):
            return
        try:
            # The primary first: the replica's position read after it can only be further.
            primary = primary_lsn()
            try:
                replayed = replay_lsn()
            except DatabaseError:
                logger.warning("replica unreachable: reads stay on the primary", exc_info=True)
                _close_replica()
                self.mark_down()
                return
            self.record(now, primary, replayed)
        finally:
            self._lock.release()

    def usable(self, written: int | None = None) -> bool:
        """May the replica serve a read now? `written`: a WAL position the read must see."""
        if self.clock() < self.down_until:
            return False
        self.check()
        if self.clock() < self.down_until:
            return False
        seen = self._seen
        lag = self._lag(seen)
        if lag is None or lag > self.max_lag:
            return False
        return written is None or seen[1] >= written


_health: ReplicaHealth | None = None


def health() -> ReplicaHealth:
    global _health
    if _health is None:
        _health = ReplicaHealth()
    return _health


def set_health(value: ReplicaHealth | None) -> None:
    """Tests: a health with an injected clock or limits (None: the settings' again)."""
    global _health
    _health = value


def _close_replica() -> None:
    with contextlib.suppress(Exception):
        connections[REPLICA].close()


def may_use_replica(account_id: int) -> bool:
    if not configured() or connections[PRIMARY].in_atomic_block:
        return False
    try:
        written = cache.get(written_key(account_id))
    except Exception:  # noqa: BLE001 - a cache that cannot tell: the primary, to be safe
        logger.warning("cache unreachable: account %s reads from the primary", account_id)
        return False
    try:
        return health().usable(None if written is None else int(written))
    except DatabaseError:  # the primary failed the check: the read will say so itself
        return False


@contextlib.contextmanager
def read_from_replica(account_id: int) -> Iterator[bool]:
    """The block's reads go to the replica when it may serve this account's reads now;
    yields whether they do. Writes inside still go to the primary (ReplicaRouter)."""
    token = _on_replica.set(may_use_replica(account_id))
    try:
        yield _on_replica.get()
    finally:
        _on_replica.reset(token)


def read(account_id: int, view: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`view(*args, **kwargs)` with its reads on the replica when it may serve them. A
    replica that fails mid-read is marked down and the view runs again on the primary: only
    reads (GET pages and reports) come here, so running one twice is safe."""
    with read_from_replica(account_id) as on_replica:
        if not on_replica:
            return view(*args, **kwargs)
        try:
            return view(*args, **kwargs)
        except DatabaseError:
            logger.warning("replica failed mid-read: again on the primary", exc_info=True)
            _close_replica()
            health().mark_down()
    return view(*args, **kwargs)


def reads_from_replica(
    account_id_of: Callable[..., int],
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator form of `read`: `account_id_of(*args, **kwargs)` names the account."""

    def decorate(view: Callable[..., T]) -> Callable[..., T]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> T:
            return read(account_id_of(*args, **kwargs), view, *args, **kwargs)

        return wrapper

    return decorate


class ReplicaRouter:
    """Reads inside read_from_replica() to the replica when allowed, every other read and
    every write to the primary (named, so no default decides)."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return REPLICA if _on_replica.get() else PRIMARY

    def db_for_write(self, model: type, **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the same rows on both

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == PRIMARY  # the replica replays the primary's migrations


def remember_write(account_id: int) -> None:
    """Read-your-write: the account's reads stay on the primary until the replica has
    replayed what the primary has written so far (kept for the lag limit, and a little:
    after that a replica still behind is too far behind to be used anyway)."""
    timeout = int(settings.REPLICA_MAX_LAG_SECONDS + settings.REPLICA_CHECK_SECONDS) + 5
    try:
        cache.set(written_key(account_id), primary_lsn(), timeout)
    except Exception:  # noqa: BLE001 - the write succeeded; its answer must stand
        logger.warning("could not remember account %s's write for the replica", account_id)


class ReadYourWritesMiddleware:
    """After a successful non-GET request of an account (through its API key, or a
    dashboard page under /dashboard/<account>/), `remember_write` for that account."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            configured()
            and request.method not in ("GET", "HEAD", "OPTIONS")
            and response.status_code < 400
        ):
            account_id = _account_id_of(request)
            if account_id is not None:
                remember_write(account_id)
        return response


def _account_id_of(request: HttpRequest) -> int | None:
    # An API key's principal carries its account (DRF sets it on the Django request too);
    # a dashboard page has it in the URL (and answered < 400 only to a member).
    account = getattr(getattr(request, "user", None), "account", None)
    if account is not None:
        return int(account.pk)
    match = getattr(request, "resolver_match", None)
    account_id = match.kwargs.get("account_id") if match else None
    return int(account_id) if account_id is not None else None
