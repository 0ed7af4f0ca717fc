"""The click pipeline's back half: Redis Stream -> PostgreSQL, in batches.

Run as `python manage.py consume_clicks` (Procfile `clicks`); run as many as you like.
They share one consumer group, so each click goes to one of them.

Guarantees: at-least-once out of the stream (an entry is acknowledged, and deleted, only
after the transaction that wrote it committed), into an idempotent write (the raw click's
unique (`click_id`, `clicked_at`), ON CONFLICT DO NOTHING), so each click is stored exactly once:
- PostgreSQL down or failing: nothing is acknowledged; the batch is retried, with
  back-off, until it commits. The stream holds everything meanwhile.
- A consumer killed mid-batch: its entries stay pending in the group; any consumer takes
  them over (XAUTOCLAIM) once idle for CLICK_STREAM_CLAIM_IDLE_SECONDS. Whatever had
  committed is skipped by ON CONFLICT; whatever had not is written.
- An entry that cannot be parsed is moved to `<stream>:dead` and acknowledged.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from django.conf import settings
from django.db import (
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    ProgrammingError,
    connection,
    transaction,
)

from core import prepared
from core.packed import columns_pack, packed_sql
from links import counting, hooks
from links.bots import click_verdict
from links.click_stream import ClickEvent
from links.traits import ClickTraits, click_traits

logger = logging.getLogger(__name__)

Entry = tuple[bytes, dict[bytes, bytes]]

# One statement per batch: the raw clicks (joined to their links; a click whose link is
# gone, or belongs to another account than the domain it came in on, is dropped), then
# each (contact, message)'s counted click among the new ones offered as its MessageClick
# (links.counting's rule and upsert, as the direct write runs them).
# Each click's traits come worked out (links.traits); its variant is the one the redirect
# served, or, for an entry that does not say (NULL), its link's (links.clicks.click_record
# takes the same default).
# Race: two consumers holding the same entry (one was presumed dead) both insert; the
# unique (click_id, clicked_at) lets one row in and the other's ON CONFLICT skips it (the
# entry carries both: a re-read entry is the same pair; partitioned tables key on the time).
_WRITE = """
WITH traits AS (
    SELECT * FROM unnest(
        %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[]
    ) WITH ORDINALITY AS t(device, os, browser, country, network, variant, n)
), incoming AS (
    SELECT * FROM unnest(
        %s::text[], %s::text[], %s::bigint[], %s::timestamptz[], %s::inet[], %s::text[],
        %s::text[], %s::text[], %s::text[], %s::boolean[], %s::text[], %s::int[]
    ) AS t(click_id, link_code, account_id, clicked_at, ip, user_agent, referer,
           accept_language, method, is_bot, bot_reason, traits)
), inserted AS (
    INSERT INTO links_messageshortlinkclick
        (click_id, account_id, short_link_id, message_id, contact_id, clicked_at, ip, user_agent,
         referer, accept_language, method, is_bot, bot_reason, device, os, browser, country,
         network, variant, recorded_at)
    SELECT i.click_id, l.account_id, l.id, l.message_id, l.contact_id, i.clicked_at, i.ip,
           i.user_agent, i.referer, i.accept_language, i.method, i.is_bot, i.bot_reason,
           t.device, t.os, t.browser, t.country, t.network, COALESCE(t.variant, l.variant),
           clock_timestamp()
    FROM incoming i
    JOIN links_messageshortlink l ON l.link_id = i.link_code AND l.account_id = i.account_id
    JOIN traits t ON t.n = i.traits
    ON CONFLICT (click_id, clicked_at) DO NOTHING
    RETURNING id, account_id, short_link_id, message_id, contact_id, clicked_at, is_bot,
              bot_reason, click_id, device, os, country, variant
), counted AS (
    {counted_upsert} RETURNING 1
)
SELECT (SELECT count(*) FROM inserted), (SELECT count(*) FROM counted)
"""


# Batches up to this many clicks run the statement prepared (clicks_write).
PREPARED_BATCH_MAX = 100


def _fetchone(sql: str, params: object) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def clicks_write_sql(*, packed: bool = False) -> str:
    """The batch statement, with the counted-click rule as links.counting has it now.
    `packed`: each column comes as one text (core.packed), split by the server."""
    sql = _WRITE.replace("{counted_upsert}", counting.counted_upsert_sql("inserted"))
    return packed_sql(sql) if packed else sql


@dataclass
class BatchResult:
    entries: int
    stored: int  # raw clicks inserted (the rest were already stored, or had no link)
    counted: int  # MessageClick rows inserted or moved to a click that beats theirs
    dead: int


def clicks_write(events: Sequence[ClickEvent]) -> tuple[int, int]:
    """Store a batch of clicks in one transaction. Returns (stored, counted)."""
    verdicts = [
        click_verdict(method=e.method, user_agent=e.user_agent, internal=e.internal, app=e.app)
        for e in events
    ]
    # The redirect's, when it classified the click (an offer with rules); else here, once
    # per agent and IP (links.agents, links.places cache them). A batch's clicks share few
    # (traits, variant) pairs: each is sent once, and each click names its own by number
    # (six text values a click cost the statement about 5 us a row; one integer does not).
    shared: dict[tuple[ClickTraits, str | None], int] = {}
    numbers = [
        shared.setdefault(
            (e.traits or click_traits(e.ip, e.user_agent), e.variant), len(shared) + 1
        )
        for e in events
    ]
    pairs = list(shared)
    columns = (
        [t.device for t, _ in pairs],
        [t.os for t, _ in pairs],
        [t.browser for t, _ in pairs],
        [t.country for t, _ in pairs],
        [t.network for t, _ in pairs],
        [variant for _, variant in pairs],
        [e.click_id for e in events],
        [e.link_id for e in events],
        [e.account_id for e in events],
        [e.clicked_at for e in events],
        [e.ip for e in events],
        [e.user_agent for e in events],
        [e.referer for e in events],
        [e.accept_language[:255] for e in events],
        [e.method for e in events],
        [v.is_bot for v in verdicts],
        [v.reason for v in verdicts],
        numbers,
    )
    packed = columns_pack(columns)
    # A small batch (the stream keeping up: real-time load) runs prepared (core.prepared):
    # each consumer's connection plans the statement once, not once a batch. Measured
    # (2026-12-04, 300 batches, PostgreSQL backend CPU a click): 20 clicks 291 -> 227 us,
    # 60 clicks 131-195 -> 112-134 us; at 200 no gain (99-103 -> 104-117 us, the generic
    # plan), so a large batch (a backlog) is planned for its own size as before.
    run = prepared.fetchone if len(events) <= PREPARED_BATCH_MAX else _fetchone
    with transaction.atomic():
        if packed is None:
            row = run(clicks_write_sql(), columns)
        else:
            row = run(clicks_write_sql(packed=True), packed)
        failpoint("before-commit")
    stored, counted = row or (0, 0)
    return stored, counted


class ClickConsumer:
    """One member of the consumer group. `run()` until stopped; `drain()` for tests."""

    def __init__(
        self, client: redis.Redis, *, name: str | None = None, stream: str | None = None
    ) -> None:
        self.client = client
        # One stream: CLICK_STREAM_KEY, or a shard's (links.click_shards reads each shard
        # it holds with one of these).
        self.stream = stream or settings.CLICK_STREAM_KEY
        self.group = settings.CLICK_STREAM_GROUP
        self.batch = settings.CLICK_STREAM_BATCH
        self.linger = settings.CLICK_STREAM_LINGER_SECONDS
        self.claim_idle_ms = int(settings.CLICK_STREAM_CLAIM_IDLE_SECONDS * 1000)
        self.name = name or f"{socket.gethostname()}-{os.getpid()}"
        self.stopping = False
        self._own_pending = True  # first read our own unacknowledged entries (restart)
        self._next_claim = 0.0

    def group_ensure(self) -> None:
        try:
            # From the stream's start: clicks appended before any consumer existed count.
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(self, block_ms: int | None) -> list[Entry]:
        """Next entries for us: our own pending first, then ones a dead consumer left,
        then new ones."""
        try:
            return self._read(block_ms)
        except redis.ResponseError as exc:
            if not str(exc).startswith(("NOGROUP", "UNBLOCKED")):
                raise
            # Redis restarted empty (or the key was deleted; a blocked read then hears
            # UNBLOCKED): redirects since then made a new stream with no group. Make the
            # group from the stream's start, so those clicks are stored too; read on.
            logger.warning("consumer group %s missing on %s; creating it", self.group, self.stream)
            self.group_ensure()
            self._own_pending = True
            return []

    def _read(self, block_ms: int | None) -> list[Entry]:
        if self._own_pending:
            entries = self._xreadgroup("0", None)
            if entries:
                return entries
            self._own_pending = False
        if time.monotonic() >= self._next_claim:
            _, claimed, _ = self.client.xautoclaim(
                self.stream, self.group, self.name, self.claim_idle_ms, "0-0", count=self.batch
            )
            if claimed:
                return [(entry_id, fields) for entry_id, fields in claimed if fields]
            self._next_claim = time.monotonic() + min(self.claim_idle_ms / 1000, 5.0)
        return self._xreadgroup(">", block_ms)

    def _xreadgroup(self, start: str, block_ms: int | None, count: int = 0) -> list[Entry]:
        reply = self.client.xreadgroup(
            self.group, self.name, {self.stream: start}, count=count or self.batch, block=block_ms
        )
        return reply[0][1] if reply else []

    def handle(self, entries: list[Entry]) -> BatchResult:
        events: list[ClickEvent] = []
        dead: list[Entry] = []
        for entry_id, fields in entries:
            try:
                events.append(ClickEvent.from_fields(fields))
            except (KeyError, ValueError, UnicodeError):
                dead.append((entry_id, fields))
        stored = counted = 0
        refused: set[str] = set()
        if events:
            try:
                stored, counted = clicks_write(events)
            except (DataError, IntegrityError, ProgrammingError):
                # Something in the batch the database refuses (not an outage): store the
                # clicks one by one, so one bad entry cannot hold up the stream.
                logger.exception(
                    "click batch refused; storing its %d clicks one by one", len(events)
                )
                stored, counted, refused = self._one_by_one(events)
                dead.extend(e for e in entries if e[1].get(b"c", b"").decode() in refused)
        failpoint("after-commit")
        if dead:
            logger.error(
                "click stream: %d malformed entries moved to %s:dead", len(dead), self.stream
            )
            pipe = self.client.pipeline(transaction=False)
            for entry_id, fields in dead:
                pipe.xadd(f"{self.stream}:dead", {**fields, b"entry_id": entry_id})
            pipe.execute()
        ids = [entry_id for entry_id, _ in entries]
        pipe = self.client.pipeline(transaction=False)
        pipe.xack(self.stream, self.group, *ids)
        pipe.xdel(self.stream, *ids)
        pipe.execute()
        written = [e.click_id for e in events if e.click_id not in refused]
        if written:
            clicks_stored_send(written)
        return BatchResult(len(entries), stored, counted, len(dead))

    def _one_by_one(self, events: list[ClickEvent]) -> tuple[int, int, set[str]]:
        stored = counted = 0
        refused: set[str] = set()
        for event in events:
            try:
                one_stored, one_counted = clicks_write([event])
            except (DataError, IntegrityError, ProgrammingError):
                refused.add(event.click_id)
                continue
            stored, counted = stored + one_stored, counted + one_counted
        return stored, counted, refused

    def step(self, block_ms: int | None = 1000, linger: float = 0.0) -> BatchResult | None:
        """Read a batch and store it. With `linger`, a batch that is not full waits that
        long for more clicks first: under a steady trickle, one transaction per few dozen
        clicks rather than per few (each commit, trigger and round trip costs as much as
        many rows), for at most that much more lag."""
        entries = self.read(block_ms)
        if not entries:
            return None
        try:
            if linger and len(entries) < self.batch:
                time.sleep(linger)
                entries += self._xreadgroup(">", None, self.batch - len(entries))
            return self.handle(entries)
        except Exception:
            # Not acknowledged: the same entries come back from our pending list.
            self._own_pending = True
            raise

    def run(self) -> None:
        self.group_ensure()
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        backoff = 0.0
        logger.info("consume_clicks %s: reading %s as %s", self.name, self.stream, self.group)
        while not self.stopping:
            try:
                result = self.step(linger=self.linger)
                backoff = 0.0
                if result:
                    logger.info(
                        "stored %d of %d clicks (%d counted, %d dead)",
                        result.stored, result.entries, result.counted, result.dead,
                    )  # fmt: skip
            except (OperationalError, InterfaceError) as exc:
                backoff = _backoff(backoff)
                logger.warning("PostgreSQL unavailable (%s); retrying in %.1fs", exc, backoff)
                _connection_drop()
                time.sleep(backoff)
            except (
                redis.ConnectionError,
                redis.TimeoutError,
                redis.exceptions.ClusterError,
                redis.exceptions.RedisClusterException,
            ) as exc:
                backoff = _backoff(backoff)
                logger.warning("Redis unavailable (%s); retrying in %.1fs", exc, backoff)
                time.sleep(backoff)
            except Exception:
                # A bug, not an outage: say so loudly, keep the entries, try again later.
                backoff = _backoff(backoff)
                logger.exception("click batch failed; retrying in %.1fs", backoff)
                _connection_drop()
                time.sleep(backoff)
        logger.info("consume_clicks %s: stopped", self.name)

    def drain(self) -> list[BatchResult]:
        """Process everything currently in the stream, then return (tests, build tools)."""
        self.group_ensure()
        results = []
        while (result := self.step(block_ms=None)) is not None:
            results.append(result)
        return results

    def _stop(self, *_: object) -> None:
        self.stopping = True


def _backoff(previous: float) -> float:
    return min(max(previous * 2, 0.2), 5.0)


def _connection_drop() -> None:
    """Forget a broken database connection; the next query opens a new one."""
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - closing a dead connection may raise; it is gone
        logger.debug("closing the broken database connection raised", exc_info=True)


def clicks_stored_send(click_ids: list[str]) -> None:
    """Tell the hook's receivers (links.hooks.clicks_stored) that these clicks are stored:
    attribution settles the postbacks that named one of them before it was (it was still
    in the stream). Each receiver on its own: one that fails is logged and the others still
    run; the stream goes on (attribution's periodic sweep settles what a failure left)."""
    for receiver in hooks.clicks_stored.receivers:
        try:
            receiver(click_ids)
        except Exception:
            logger.exception("clicks_stored receiver %s failed for a batch", receiver)


def failpoint(name: str) -> None:
    """Die here when CLICK_CONSUMER_FAILPOINT names this point: the fault tests kill the
    consumer at an exact moment of a batch. Off unless that variable is set."""
    if os.environ.get("CLICK_CONSUMER_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
