"""Request bodies are received before Django runs, a few at a time per web process.

Granian calls the application as soon as a request's headers are in and streams the body
into its thread; a client that trickles a body a byte a second holds that thread all along,
and enough of them would hold every thread. So trackly.wsgi has the body received here
first, by at most BODY_READ_SLOTS requests at a time per process (one less than its
threads, by default): one more waits a moment for a slot, then is answered 503 with
Retry-After, nothing done. The threads left answer /healthz, the redirect and every request
without a body. (Caddy, in front in production, will bound how long a body may take.)
"""

from __future__ import annotations

import logging
import tempfile
import threading
from typing import IO, Any

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from attribution.views import PIXEL
from core.bounds import MAX_TRACKING_REQUEST_BYTES
from core.headers import TRACKING_HEADERS, headers_set
from core.models import normalize_host
from trackly.tracking import PIXEL_RE, POSTBACK_PATHS

logger = logging.getLogger(__name__)
_APP_HOSTS = frozenset(settings.APP_HOSTS)

# Longer than a fast body takes while the process is busy (its thread may wait a few ms
# for the GIL), far shorter than a slow client holds a slot.
SLOT_WAIT_SECONDS = 0.01
CHUNK_BYTES = 64 * 1024
RETRY_AFTER_SECONDS = 1
BUSY = (
    "This server is receiving as many request bodies as it takes at once; nothing was done. "
    "Retry in a moment."
)
BUSY_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>One moment</title>'
    "</head><body><h1>One moment, please</h1><p>Trackly is busy; nothing was saved. "
    "Go back and send it again in a moment.</p></body></html>"
)


class BodyGate:
    def __init__(self, slots: int) -> None:
        self.slots = threading.BoundedSemaphore(slots)

    def receive(self, environ: dict[str, Any]) -> bool:
        """Put the whole declared body in environ["wsgi.input"]; False when no slot is free.

        A body that will be refused unread (past DATA_UPLOAD_MAX_MEMORY_SIZE, or a
        postback's past MAX_TRACKING_REQUEST_BYTES: a 413) or that Django ignores (no
        Content-Length) is left where it is.
        """
        length = declared_length(environ)
        if not 0 < length <= _ceiling(environ):
            return True
        if not self.slots.acquire(timeout=SLOT_WAIT_SECONDS):
            return False
        try:
            environ["wsgi.input"] = _spooled(environ["wsgi.input"], length)
        finally:
            self.slots.release()
        return True


def _ceiling(environ: dict[str, Any]) -> int:
    """The largest body received for this request: anything not for an app host (a tracking
    domain: redirects, postbacks, the pixel) takes 64 KB with its query, past which it is a
    413 with the body unread."""
    host = normalize_host(environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""))
    if host not in _APP_HOSTS:
        return MAX_TRACKING_REQUEST_BYTES - len(environ.get("QUERY_STRING", ""))
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def declared_length(environ: dict[str, Any]) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # as Django reads it


def _spooled(source: IO[bytes], length: int) -> IO[bytes]:
    # In memory up to Django's own threshold for uploads, on disk past it.
    spool = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)  # noqa: SIM115 - Django reads it after this returns
    remaining = length
    while remaining:
        chunk = source.read(min(remaining, CHUNK_BYTES))
        if not chunk:
            break  # the client stopped short: Django sees the short body
        spool.write(chunk)
        remaining -= len(chunk)
    spool.seek(0)
    return spool


def busy(environ: dict[str, Any]) -> HttpResponse:
    """The 503 of a request refused a slot, in the shape its endpoint answers errors."""
    path = environ.get("PATH_INFO", "")
    logger.warning(
        "%s %r: every body slot taken (BODY_READ_SLOTS=%s); answered 503",
        environ.get("REQUEST_METHOD"), path, settings.BODY_READ_SLOTS,
    )  # fmt: skip
    if path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": BUSY}, status=503)
    elif path in POSTBACK_PATHS:
        response = JsonResponse({"error": BUSY, "retry_after": RETRY_AFTER_SECONDS}, status=503)
    elif PIXEL_RE.match(path):  # an <img>: always its GIF
        response = HttpResponse(PIXEL, content_type="image/gif", status=503)
    else:
        response = HttpResponse(BUSY_PAGE, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    headers_set(response, TRACKING_HEADERS)
    return response


gate = BodyGate(settings.BODY_READ_SLOTS)
