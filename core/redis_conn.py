"""One raw Redis client per process, for what Django's cache API cannot say (streams,
pipelines), and for the redirect a bare connection per thread (`round_trip`), with a
circuit breaker: after a failure, Redis is left alone for
REDIS_RETRY_SECONDS, so a dead Redis costs the hot path one refused connection per
process per period instead of one per request.

Nothing here when REDIS_URL is unset (the embedded default): `client()` returns None.
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
from redis.connection import parse_url

logger = logging.getLogger(__name__)

# What a dead, restarting or overloaded Redis raises.
ERRORS: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError, OSError)
# What round_trip raises besides: an error reply (OOM, a wrong type), after which the
# caller treats Redis as failed too.
ROUND_TRIP_ERRORS: tuple[type[Exception], ...] = (*ERRORS, redis.ResponseError)

_lock = threading.Lock()
_client: redis.Redis | None = None
_down_until = 0.0
_generation = 0  # bumped by reset(): every thread's bare connection is then reopened


def available() -> bool:
    """Redis is configured and did not fail a moment ago."""
    return bool(settings.REDIS_URL) and time.monotonic() >= _down_until


def client() -> redis.Redis | None:
    """The shared client, or None: no Redis configured, or it failed a moment ago."""
    global _client
    if not settings.REDIS_URL or time.monotonic() < _down_until:
        return None
    if _client is None:
        with _lock:
            if _client is None:
                _client = redis.Redis.from_url(
                    settings.REDIS_URL,
                    socket_connect_timeout=settings.REDIS_SOCKET_TIMEOUT,
                    socket_timeout=settings.REDIS_SOCKET_TIMEOUT,
                )
    return _client


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
    global _client, _down_until, _generation
    _client, _down_until = None, 0.0
    _generation += 1


class _Wire(threading.local):
    """This thread's bare RESP connection: a socket and a hiredis reader, nothing else.

    redis-py's pipeline costs about 50 us of Python per call (pool checkout, command
    stack, response callbacks); the redirect needs only "send these commands, read that
    many replies", which this does in two system calls. Per thread, so no lock; web
    servers keep their threads, so the connection lives as long as the thread.
    """

    sock: socket.socket | None = None
    reader: hiredis.Reader | None = None
    generation = -1
    round_trips = 0  # counted, so tests can pin the redirect's cost

    def open(self) -> None:
        url = settings.REDIS_URL
        kwargs = parse_url(url)
        timeout = settings.REDIS_SOCKET_TIMEOUT
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
        sock.settimeout(timeout)
        self.sock, self.reader = sock, hiredis.Reader()
        self.generation = _generation
        hello: list[tuple[object, ...]] = []
        if kwargs.get("password"):
            user = kwargs.get("username")
            hello.append(
                ("AUTH", user, kwargs["password"]) if user else ("AUTH", kwargs["password"])
            )
        if int(kwargs.get("db") or 0):
            hello.append(("SELECT", int(kwargs["db"])))
        if hello:
            self.exchange(hello)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock = self.reader = None

    def exchange(self, commands: Sequence[tuple[object, ...]]) -> list[object]:
        assert self.sock is not None and self.reader is not None
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
        self.round_trips += 1
        return replies


_wire = _Wire()


def round_trip(commands: Sequence[tuple[object, ...]]) -> list[object]:
    """Send the commands in one write and read their replies, on this thread's bare
    connection. Raises ERRORS (or redis.ResponseError) as redis-py would; after any
    failure the connection is dropped, since its replies may be out of step."""
    try:
        if _wire.sock is None or _wire.generation != _generation:
            _wire.close()
            _wire.open()
        return _wire.exchange(commands)
    except BaseException:
        _wire.close()
        raise


def round_trips() -> int:
    """How many round trips this thread's bare connection has made."""
    return _wire.round_trips
