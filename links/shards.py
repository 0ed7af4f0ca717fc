"""The click stream's shards: which stream a click goes to, and the keys that share its
slot.

CLICK_STREAM_SHARDS = 1 (the default): one stream, CLICK_STREAM_KEY (`trackly:clicks`),
and one config version, `linkcfg:version`, as before sharding. N > 1: shard i is
`<CLICK_STREAM_KEY>:{i}`; the braces are a Redis Cluster hash tag, so the cluster places
each shard by `i` alone and spreads them over its nodes. The redirect's one round trip
reads the config version with its XADD (links.click_stream), and a cluster serves one
command batch from one node only if every key in it hashes to one slot: so each shard
has its own copy of the version, `linkcfg:version:{i}`, in the shard's slot, and every
change bumps all of them (links.resolve.link_config_changed). On a cluster with one
shard the tag is the stream's name (`linkcfg:version:{trackly:clicks}` hashes as
`trackly:clicks` does). The shared config entries (links.resolve) carry a shard's tag
too, so their MGET with the version is one slot as well.

A click goes to the shard of its link id (a CRC-32, modulo N), not a random one: a blast
has a link per contact, so its clicks spread evenly; a contact's taps on their link land
on one shard, read by one consumer, so the counted-click upsert of one (contact, message)
rarely meets itself in two consumers' transactions; and a test (or an operator) can say
where a link's clicks are. One very hot link fills one shard: at one XADD a tap, a single
Redis node takes far more than the web tier sends it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.signals import setting_changed
from django.dispatch import receiver

CONFIG_VERSION_KEY = "linkcfg:version"


@dataclass(frozen=True)
class Shard:
    index: int
    stream: str  # the stream's key
    version: str  # the config version's key as stored in Redis (with the cache's prefix)
    tag: str  # "{...}": what a key needs to hash to this shard's slot; "" unsharded


def count() -> int:
    return max(settings.CLICK_STREAM_SHARDS, 1)


def all_shards() -> tuple[Shard, ...]:
    # Worked out once (the redirect asks on every tap: this costs it an attribute read),
    # again when a test changes a setting it depends on.
    return _shards or _shards_set()


_shards: tuple[Shard, ...] = ()


def _shards_set() -> tuple[Shard, ...]:
    global _shards
    _shards = _layout(count(), settings.CLICK_STREAM_KEY, bool(settings.REDIS_CLUSTER_NODES))
    return _shards


@receiver(setting_changed)
def _shards_forget(*, setting: str, **_: object) -> None:
    global _shards
    if setting in ("CLICK_STREAM_SHARDS", "CLICK_STREAM_KEY", "REDIS_CLUSTER_NODES", "CACHES"):
        _shards = ()


def of_link(link_id: str) -> Shard:
    """The shard a click on this link goes to."""
    shards = _shards or _shards_set()
    if len(shards) == 1:
        return shards[0]
    return shards[zlib.crc32(link_id.encode()) % len(shards)]


def of_key(key: str) -> Shard:
    """The shard whose slot a shared config entry's key is stored in (links.resolve)."""
    shards = all_shards()
    if len(shards) == 1:
        return shards[0]
    return shards[zlib.crc32(key.encode()) % len(shards)]


def stream_keys() -> list[str]:
    return [shard.stream for shard in all_shards()]


def _layout(n: int, stream: str, cluster: bool) -> tuple[Shard, ...]:
    if n == 1 and not cluster:
        return (Shard(0, stream, cache.make_and_validate_key(CONFIG_VERSION_KEY), ""),)
    shards = []
    for i in range(n):
        name = stream if n == 1 else f"{stream}:{{{i}}}"
        tag = "{" + (stream if n == 1 else str(i)) + "}"
        version = cache.make_and_validate_key(f"{CONFIG_VERSION_KEY}:{tag}")
        shards.append(Shard(i, name, version, tag))
    return tuple(shards)
