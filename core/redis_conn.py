"""One raw Redis client per process, for what Django's cache API cannot say (streams,
pipelines), and for the redirect a bare connection per thread (`round_trip`), with a
circuit breaker: after a failure, Redis is left alone for
REDIS_RETRY_SECONDS, so a dead Redis costs the hot path one refused connection per
process per period instead of one per request.

With REDIS_CLUSTER_NODES, a Redis Cluster instead: `client()` is redis-py's RedisCluster,
and `round_trip(commands, key)` sends the commands (which must all hash to `key`'s slot)
to the node serving that slot, on this thread's bare connection to that node; a MOVED
reply (the cluster resharded or failed over) updates the slot's node and sends again.

Nothing here when neither is set (the embedded default): `client()` returns None.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Sequence

import hiredis
import redis
from django.conf import settings
from redis.cluster import ClusterNode, RedisCluster
from redis.connection import parse_url
from redis.crc import key_slot

logger = logging.getLogger(__name__)

# What a dead, restarting or overloaded Redis raises (a cluster: also a slot no node
# serves, or a cluster it cannot make out).
ERRORS: tuple[type[Exception], ...] = (
    redis.ConnectionError,
    redis.TimeoutError,
    OSError,
    redis.exceptions.ClusterError,
    redis.exceptions.RedisClusterException,
)
# What round_trip raises besides: an error reply (OOM, a wrong type), after which the
# caller treats Redis as failed too.
ROUND_TRIP_ERRORS: tuple[type[Exception], ...] = (*ERRORS, redis.ResponseError)

_lock = threading.Lock()
_client: redis.Redis | RedisCluster | None = None
_down_until = 0.0
_generation = 0  # bumped by reset(): every thread's bare connection is then reopened


def configured() -> bool:
    """A Redis (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES) is configured."""
    return bool(settings.REDIS_URL or settings.REDIS_CLUSTER_NODES)


def is_cluster() -> bool:
    return bool(settings.REDIS_CLUSTER_NODES)


def available() -> bool:
    """Redis is configured and did not fail a moment ago."""
    return (
        bool(settings.REDIS_URL or settings.REDIS_CLUSTER_NODES) and time.monotonic() >= _down_until
    )


def client() -> redis.Redis | RedisCluster | None:
    """The shared client, or None: no Redis configured, or it failed a moment ago."""
    global _client
    if not configured() or time.monotonic() < _down_until:
        return None
    if _client is None:
        with _lock:
            if _client is None:
                _client = connect(
                    connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
                    timeout=settings.REDIS_SOCKET_TIMEOUT,
                )
    return _client


def connect(*, connect_timeout: float, timeout: float, **options: object) -> redis.Redis:
    """A new redis-py client for the configured Redis: a RedisCluster with
    REDIS_CLUSTER_NODES, else a Redis on REDIS_URL (the consumers' own, with their longer
    timeouts). A RedisCluster is used as a Redis is for single-key commands and
    pipelines of one slot's keys."""
    if settings.REDIS_CLUSTER_NODES:
        return RedisCluster(  # type: ignore[return-value]
            startup_nodes=cluster_nodes(),
            socket_connect_timeout=connect_timeout,
            socket_timeout=timeout,
            **options,
        )
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=connect_timeout,
        socket_timeout=timeout,
        **options,
    )


def cluster_nodes() -> list[ClusterNode]:
    """REDIS_CLUSTER_NODES (host:port, ...) as redis-py's startup nodes."""
    nodes = []
    for item in settings.REDIS_CLUSTER_NODES:
        host, _, port = item.strip().rpartition(":")
        nodes.append(ClusterNode(host or "127.0.0.1", int(port or 6379)))
    return nodes


def failed(exc: BaseException, what: str) -> None:
    """Open the circuit for REDIS_RETRY_SECONDS; log once per opening."""
    global _down_until
    first = time.monotonic() >= _down_until
    _down_until = time.monotonic() + settings.REDIS_RETRY_SECONDS
    if first:
        logger.warning(
            "Redis unreachable (%s: %s); %s; retrying in %ss",
            type(exc).__name__,
            exc,
            what,
            settings.REDIS_RETRY_SECONDS,
        )


def reset() -> None:
    """Forget the clients and close the circuit (tests, after a fork)."""
    global _client, _down_until, _generation, _on_cluster
    if _client is not None and isinstance(_client, RedisCluster):
        _client.close()
    _client, _down_until = None, 0.0
    _generation += 1
    _slots.clear()
    _on_cluster = None


class _Bare:
    """A bare RESP connection: a socket and a hiredis reader, nothing else.

    redis-py's pipeline costs about 50 us of Python per call (pool checkout, command
    stack, response callbacks); the redirect needs only "send these commands, read that
    many replies", which this does in two system calls. One per thread (and, on a
    cluster, per node), so no lock; web servers keep their threads, so the connection
    lives as long as the thread.
    """

    def __init__(self, address: tuple[str, int] | None) -> None:
        """Connect to REDIS_URL, or (address) to one node of the cluster."""
        timeout = settings.REDIS_SOCKET_TIMEOUT
        self.generation = _generation
        hello: list[tuple[object, ...]] = []
        if address is not None:
            sock = socket.create_connection(address, timeout=timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        else:
            url = settings.REDIS_URL
            kwargs = parse_url(url)
            if "path" in kwargs:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(timeout)
                sock.connect(kwargs["path"])
            else:
                host, port = kwargs.get("host", "localhost"), int(kwargs.get("port", 6379))
                sock = socket.create_connection((host, port), timeout=timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if url.startswith("rediss://"):
                    sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
            if kwargs.get("password"):
                user = kwargs.get("username")
                hello.append(
                    ("AUTH", user, kwargs["password"]) if user else ("AUTH", kwargs["password"])
                )
            if int(kwargs.get("db") or 0):
                hello.append(("SELECT", int(kwargs["db"])))
        sock.settimeout(timeout)
        self.sock: socket.socket | None = sock
        self.reader = hiredis.Reader()
        if hello:
            self.exchange(hello)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = None

    def exchange(self, commands: Sequence[tuple[object, ...]]) -> list[object]:
        assert self.sock is not None
        self.sock.sendall(b"".join(hiredis.pack_command(c) for c in commands))
        replies: list[object] = []
        while len(replies) < len(commands):
            reply = self.reader.gets()
            if reply is False:
                data = self.sock.recv(65536)
                if not data:
                    raise redis.ConnectionError("Redis closed the connection")
                self.reader.feed(data)
                continue
            if isinstance(reply, hiredis.ReplyError):
                raise redis.ResponseError(str(reply))
            replies.append(reply)
        return replies


class _Wire(threading.local):
    """This thread's bare connections: to REDIS_URL, or to each cluster node it used."""

    single: _Bare | None = None
    nodes: dict[tuple[str, int], _Bare]
    round_trips = 0  # counted, so tests can pin the redirect's cost

    def __init__(self) -> None:
        self.nodes = {}


_wire = _Wire()
# A cluster's slot -> the (host, port) serving it, as last learnt (from redis-py's view
# of the cluster, or a MOVED reply). Shared by threads: a dict's get and set are atomic.
_slots: dict[int, tuple[str, int]] = {}


def round_trip(commands: Sequence[tuple[object, ...]], key: str | None = None) -> list[object]:
    """Send the commands in one write and read their replies, on this thread's bare
    connection. Raises ERRORS (or redis.ResponseError) as redis-py would; after any
    failure the connection is dropped, since its replies may be out of step.

    On a cluster, every key the commands name must hash to `key`'s slot (a hash tag,
    links.shards); without `key` (a PING), any node."""
    if _on_cluster is None:
        _on_cluster_learn()
    if _on_cluster:
        return _cluster_round_trip(commands, key)
    bare = _wire.single
    try:
        if bare is None or bare.generation != _generation:
            if bare is not None:
                bare.close()
            bare = _wire.single = _Bare(None)
        replies = bare.exchange(commands)
    except BaseException:
        if _wire.single is not None:
            _wire.single.close()
            _wire.single = None
        raise
    _wire.round_trips += 1
    return replies


# Whether round_trip goes to a cluster: REDIS_CLUSTER_NODES, read once (a setting costs
# about 1 us a read, the redirect's budget is tens), again after reset().
_on_cluster: bool | None = None


def _on_cluster_learn() -> None:
    global _on_cluster
    _on_cluster = bool(settings.REDIS_CLUSTER_NODES)


def _cluster_round_trip(commands: Sequence[tuple[object, ...]], key: str | None) -> list[object]:
    slot = key_slot(key.encode()) if key is not None else 0
    for attempt in (1, 2):
        address = _slots.get(slot) or _slot_address(slot)
        bare = _wire.nodes.get(address)
        try:
            if bare is None or bare.generation != _generation:
                if bare is not None:
                    bare.close()
                bare = _wire.nodes[address] = _Bare(address)
            replies = bare.exchange(commands)
        except redis.ResponseError as exc:
            failed_bare = _wire.nodes.pop(address, None)
            if failed_bare is not None:
                failed_bare.close()
            # "MOVED <slot> <host>:<port>": the slot lives elsewhere now (a reshard, a
            # failover); learn it and send again, once. "ASK" (a slot mid-migration) is
            # treated the same: the XADD may then be sent twice, and the consumer's
            # unique click_id stores it once.
            moved = str(exc).split()
            if attempt == 1 and len(moved) == 3 and moved[0] in ("MOVED", "ASK"):
                host, _, port = moved[2].rpartition(":")
                _slots[slot] = (host or address[0], int(port))
                continue
            raise
        except BaseException:
            dropped = _wire.nodes.pop(address, None)
            if dropped is not None:
                dropped.close()
            _slots.pop(slot, None)  # the node may be gone: ask the cluster again next time
            raise
        _wire.round_trips += 1
        return replies
    raise AssertionError("unreachable")


def _slot_address(slot: int) -> tuple[str, int]:
    """The node serving `slot`, as redis-py's cluster client knows it."""
    shared = client()
    if not isinstance(shared, RedisCluster):
        raise redis.ConnectionError("the Redis Cluster is unavailable")
    node = shared.nodes_manager.get_node_from_slot(slot)
    address = (node.host, int(node.port))
    _slots[slot] = address
    return address


def round_trips() -> int:
    """How many round trips this thread's bare connections have made."""
    return _wire.round_trips
