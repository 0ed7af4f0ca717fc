"""Django's cache on a Redis Cluster (REDIS_CLUSTER_NODES): django.core.cache's
RedisCache with redis-py's RedisCluster for a client.

Django's own backend speaks to one Redis (a pool per server), and django-redis is not a
dependency; the cluster client does what a single Redis does for one key, so only the
calls that name several keys are rewritten (a cluster refuses a command whose keys lie in
different slots): get_many and set_many go slot by slot, delete_many and clear are spread
by redis-py. Values are stored as Django's backend stores them (links.resolve reads and
writes the same entries on bare connections).
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.cluster import ClusterNode, RedisCluster


class RedisClusterCacheClient(RedisCacheClient):
    def __init__(self, servers: list[str], serializer: Any = None, **options: Any) -> None:
        super().__init__(servers, serializer=serializer)
        self._nodes = [_node(server) for server in servers]
        self._options = options
        self._cluster: RedisCluster | None = None
        self._lock = threading.Lock()

    def get_client(self, key: Any = None, *, write: bool = False) -> RedisCluster:
        # One client for the process: it holds a pool per node and the slot map.
        if self._cluster is None:
            with self._lock:
                if self._cluster is None:
                    self._cluster = RedisCluster(startup_nodes=self._nodes, **self._options)
        return self._cluster

    def get_many(self, keys: Any) -> dict[Any, Any]:
        keys = list(keys)
        values = self.get_client().mget_nonatomic(keys)
        pairs = zip(keys, values, strict=True)
        return {k: self._serializer.loads(v) for k, v in pairs if v is not None}

    def set_many(self, data: dict[Any, Any], timeout: int | None) -> None:
        pipeline = self.get_client(write=True).pipeline()
        for key, value in data.items():
            pipeline.set(key, self._serializer.dumps(value), ex=timeout)
        pipeline.execute()


class RedisClusterCache(RedisCache):
    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisClusterCacheClient


def _node(server: str) -> ClusterNode:
    host, _, port = server.strip().removeprefix("redis://").rpartition(":")
    return ClusterNode(host or "127.0.0.1", int(port or 6379))
