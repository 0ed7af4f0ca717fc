"""One raw Redis client per process, for what Django's cache API cannot say (streams,
pipelines), with a circuit breaker: after a failure, Redis is left alone for
REDIS_RETRY_SECONDS, so a dead Redis costs the hot path one refused connection per
process per period instead of one per request.

Nothing here when REDIS_URL is unset (the embedded default): `client()` returns None.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

# What a dead, restarting or overloaded Redis raises.
ERRORS: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError, OSError)

_lock = threading.Lock()
_client: redis.Redis | None = None
_down_until = 0.0


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
    """Forget the client and close the circuit (tests, after a fork)."""
    global _client, _down_until
    _client, _down_until = None, 0.0
