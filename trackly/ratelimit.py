"""The API's rate limit: each key's requests counted in fixed 60-second windows.

`API_RATE_LIMIT` requests per key per window (`600/min` by default, 0 turns it off). A
key's request is counted once it is authenticated, whatever its answer (a bulk mint is one
request); past the limit it is a 429 with `Retry-After`. Every answer to a keyed request
carries `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds to the end
of the window). Only API views are limited (a DRF permission): tracking hosts never are.

The count lives in Redis when there is one (INCR and EXPIRE in one round trip, on a key
named after the key's prefix and the window's start), so every web process shares it.
Without Redis (the embedded default, or Redis down a moment), each process counts on its
own: correct for the embedded default's one process, per process elsewhere.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from rest_framework import exceptions, permissions
from rest_framework.request import Request

from core import bounds, redis_conn
from core.authentication import ApiClient

logger = logging.getLogger(__name__)

WINDOW = bounds.API_RATE_WINDOW_SECONDS
# Where a request's window is kept on Django's request, for the headers.
REQUEST_ATTRIBUTE = "trackly_rate_window"

# Seconds since the epoch; tests replace it to move between windows without waiting.
clock: Callable[[], float] = time.time

_RATE = re.compile(r"\s*(\d+)\s*(?:/\s*(?:m|min|minute))?\s*", re.IGNORECASE)


@functools.cache
def parse_rate(text: str) -> int:
    """`600/min` (or `600`) -> 600 requests per window; `0` -> 0, no limit."""
    match = _RATE.fullmatch(text)
    if not match:
        raise ImproperlyConfigured(
            f"API_RATE_LIMIT must be requests per minute, such as 600/min (or 0 for no "
            f"limit), not {text!r}."
        )
    return int(match.group(1))


def rate_limit() -> int:
    return parse_rate(settings.API_RATE_LIMIT)


@dataclass(frozen=True)
class Window:
    """One key's fixed window: its limit, the requests counted so far (this one
    included) and the seconds until it ends."""

    limit: int
    count: int
    reset: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.count, 0)

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


def charge(key_prefix: str) -> Window | None:
    """Count one request of the key in the current window; None when there is no limit."""
    limit = rate_limit()
    if limit <= 0:
        return None
    now = clock()
    start = int(now // WINDOW) * WINDOW
    reset = max(math.ceil(start + WINDOW - now), 1)
    count = _redis_count(key_prefix, start, reset)
    if count is None:
        count = _local.count(key_prefix, start)
    return Window(limit=limit, count=count, reset=reset)


def _redis_count(key_prefix: str, start: int, reset: int) -> int | None:
    client = redis_conn.client()
    if client is None:
        return None
    key = cache.make_key(f"ratelimit:{key_prefix}:{start}")
    try:
        # One round trip: the window's counter made or bumped, and set to go a little
        # after the window ends (relative, so a wrong clock cannot make it eternal).
        pipeline = client.pipeline(transaction=True)
        pipeline.incr(key)
        pipeline.expire(key, reset + 1)
        count, _ = pipeline.execute()
    except redis_conn.ROUND_TRIP_ERRORS as exc:
        redis_conn.failed(exc, "the API rate limit is counted per process")
        return None
    return int(count)


class _LocalCounts:
    """This process's windows, for when there is no Redis to share them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._start = 0
        self._counts: dict[str, int] = {}

    def count(self, key_prefix: str, start: int) -> int:
        with self._lock:
            if start != self._start:  # a new window: the old counts are done with
                self._start, self._counts = start, {}
            self._counts[key_prefix] = self._counts.get(key_prefix, 0) + 1
            return self._counts[key_prefix]

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


_local = _LocalCounts()


class WithinRateLimit(permissions.BasePermission):
    """Charges an authenticated key's request to its window; past the limit, a 429.

    A request without a key passes here: the next permission (HasAccount) refuses it.
    """

    def has_permission(self, request: Request, view: object) -> bool:
        if not isinstance(request.user, ApiClient):
            return True
        key = request.user.api_key
        window = charge(key.prefix)
        if window is None:
            return True
        setattr(request._request, REQUEST_ATTRIBUTE, window)
        if window.exceeded:
            logger.info(
                "api: key %s of account %s over its rate limit (%s per %ss)",
                key.prefix, key.account_id, window.limit, WINDOW,
            )  # fmt: skip
            raise exceptions.Throttled(
                wait=window.reset,
                detail=f"Rate limit of {window.limit} requests per minute for this API key "
                f"reached; retry in {window.reset} s.",
            )
        return True


class RateLimitHeadersMiddleware:
    """Puts the key's window on the answer, whatever the answer (2xx, 4xx, 429)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        window: Window | None = getattr(request, REQUEST_ATTRIBUTE, None)
        if window is not None:
            for name, value in window.headers().items():
                response[name] = value
        return response
