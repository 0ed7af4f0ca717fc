"""The click stream's consumers, sharded: which consumer reads which shard.

With CLICK_STREAM_SHARDS = N > 1 (links.shards), each `consume_clicks` holds a lease on
some shards and reads only those, each with a links.click_writer.ClickConsumer (same
group, same guarantees). Leases, in Redis:
- `<shard stream>:lease` (in the shard's slot): the holder's name, SET NX with a TTL of
  CLICK_STREAM_LEASE_SECONDS, renewed every third of that while its holder lives.
- `<CLICK_STREAM_KEY>:consumers`: a sorted set of the live consumers (score: when their
  heartbeat runs out), so each can work out its fair share, ceil(N / live consumers).
Every tick a consumer renews its leases, gives back those beyond its share (after the
batch in hand is stored and acknowledged) and takes free ones up to its share, so the
consumers together hold every shard. A consumer that dies stops renewing: its leases run
out and the others take its shards, within CLICK_STREAM_LEASE_SECONDS and a tick; the
entries it had read but not acknowledged are XAUTOCLAIMed by the new holder after
CLICK_STREAM_CLAIM_IDLE_SECONDS (ClickConsumer.read). A consumer that stops cleanly gives
its leases back at once.
Race: two consumers SET NX the same free lease; Redis lets one have it. A lease that ran
out while its holder was still reading (a long stall) may have two readers for a moment:
the group still gives each new entry to one of them, and the unique click_id stores a
twice-read one once. N = 1 has no leases: every consumer reads the one stream through the
group, as before sharding.
"""

from __future__ import annotations

import logging
import math
import time
import zlib
from collections.abc import Callable

import redis
from django.conf import settings

from links import resolve, shards
from links.click_writer import BatchResult, ClickConsumer

logger = logging.getLogger(__name__)

# Extend the lease only if we still hold it; give it back only if we still hold it.
_RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0"  # noqa: E501
_RELEASE = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"  # noqa: E501
)
# When no held shard has anything, block on one of them this long (then the next): a
# click on another waits at most this much more.
IDLE_BLOCK_MS = 100


class ShardedConsumer(ClickConsumer):
    """A consumer of the shards it holds a lease on. `run()` as ClickConsumer's (the same
    loop, outage back-off and signals); `tick()` claims and renews; `drain()` (tests,
    build tools) reads every shard, leases or not."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        name: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(client, name=name)
        self.lease_ms = int(settings.CLICK_STREAM_LEASE_SECONDS * 1000)
        self.members = f"{settings.CLICK_STREAM_KEY}:consumers"
        self.clock = clock
        self.shards = shards.all_shards()
        self.held: dict[int, ClickConsumer] = {}  # shard index -> its reader
        self._next_tick = 0.0
        self._turn = 0  # which held shard to block on when all are empty

    # Leases -------------------------------------------------------------------------

    def tick(self) -> set[int]:
        """Renew, give back and claim leases; returns the shards now held."""
        now = self.clock()
        pipeline = self.client.pipeline(transaction=False)
        pipeline.zadd(self.members, {self.name: now + self.lease_ms / 1000})
        pipeline.zremrangebyscore(self.members, "-inf", now)
        pipeline.zcard(self.members)
        *_, live = pipeline.execute()
        share = math.ceil(len(self.shards) / max(int(live), 1))
        for index in list(self.held):
            if not self.client.eval(_RENEW, 1, self._lease(index), self.name, self.lease_ms):
                logger.warning("consumer %s lost its lease on click shard %d", self.name, index)
                del self.held[index]
        while len(self.held) > share:
            self.release(max(self.held))
        if len(self.held) < share:
            for index in self._order():
                if len(self.held) >= share:
                    break
                if index not in self.held and self.client.set(
                    self._lease(index), self.name, nx=True, px=self.lease_ms
                ):
                    self._take(index)
        return set(self.held)

    def release(self, index: int) -> None:
        self.held.pop(index, None)
        self.client.eval(_RELEASE, 1, self._lease(index), self.name)

    def release_all(self) -> None:
        for index in list(self.held):
            self.release(index)
        self.client.zrem(self.members, self.name)

    def _take(self, index: int) -> None:
        reader = ClickConsumer(self.client, name=self.name, stream=self.shards[index].stream)
        reader.group_ensure()
        self.held[index] = reader
        logger.info("consumer %s took click shard %d", self.name, index)

    def _order(self) -> list[int]:
        # Each consumer tries the free shards from its own starting point, so consumers
        # starting together mostly ask for different leases.
        start = zlib.crc32(self.name.encode()) % len(self.shards)
        return [(start + i) % len(self.shards) for i in range(len(self.shards))]

    def _lease(self, index: int) -> str:
        return f"{self.shards[index].stream}:lease"

    # Reading ------------------------------------------------------------------------

    def group_ensure(self) -> None:
        for shard in self.shards:
            ClickConsumer(self.client, name=self.name, stream=shard.stream).group_ensure()

    def step(self, block_ms: int | None = 1000, linger: float = 0.0) -> BatchResult | None:
        """One batch from each held shard that has entries (the last one's result is
        returned); when none has, block on one of them. Ticks when due."""
        if time.monotonic() >= self._next_tick:
            self.tick()
            # The versions' copies, level again if a node lost one (links.resolve).
            resolve.versions_level(self.client)
            self._next_tick = time.monotonic() + self.lease_ms / 3000
        if not self.held:
            if block_ms:
                time.sleep(min(block_ms, self.lease_ms / 3) / 1000)  # a standby: wait
            return None
        results = [reader.step(block_ms=None, linger=linger) for reader in list(self.held.values())]
        result = _total([r for r in results if r is not None])
        if result is None and block_ms:
            readers = list(self.held.values())
            self._turn = (self._turn + 1) % len(readers)
            result = readers[self._turn].step(block_ms=min(block_ms, IDLE_BLOCK_MS), linger=linger)
        return result

    def drain(self) -> list[BatchResult]:
        results = []
        for shard in self.shards:
            reader = ClickConsumer(self.client, name=self.name, stream=shard.stream)
            results.extend(reader.drain())
        return results

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.release_all()


def _total(results: list[BatchResult]) -> BatchResult | None:
    if not results:
        return None
    return BatchResult(
        sum(r.entries for r in results),
        sum(r.stored for r in results),
        sum(r.counted for r in results),
        sum(r.dead for r in results),
    )


def consumer(client: redis.Redis, *, name: str | None = None) -> ClickConsumer:
    """The consumer for the configured stream: one stream, or its shards."""
    if shards.count() > 1:
        return ShardedConsumer(client, name=name)
    return ClickConsumer(client, name=name)
