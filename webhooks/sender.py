"""The HTTP half of a delivery: POST one signed body to an endpoint's URL, at the address
the SSRF rule checked (webhooks.addresses), over keep-alive pools kept for one worker pass;
no redirects followed, no retries here (webhooks.delivery schedules them)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

import urllib3
from django.conf import settings

from webhooks.addresses import AddressRefused, address_resolve, url_refusal

# What is read of an answer (its start is kept in the attempt's error for a non-2xx).
READ_LIMIT = 4096
ERROR_LENGTH = 500


@dataclass(frozen=True)
class Answer:
    """What came of one POST: the status (None when no HTTP answer came), why it failed
    (blank on a 2xx), the time taken, and the Retry-After header if any."""

    status: int | None
    error: str
    latency_ms: int
    retry_after: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def answered(self) -> bool:
        return self.status is not None


class Sender:
    """POSTs for one worker pass, reusing a keep-alive pool per (endpoint, address); close
    it (or use it as a context manager) when the pass ends."""

    def __init__(self, timeout: float | None = None) -> None:
        seconds = settings.WEBHOOK_TIMEOUT_SECONDS if timeout is None else timeout
        self.timeout = urllib3.Timeout(total=seconds)
        self.seconds = seconds
        self.pools: dict[tuple, urllib3.HTTPConnectionPool] = {}

    def __enter__(self) -> Sender:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()

    def post(self, endpoint_id: int, url: str, headers: dict[str, str], body: bytes) -> Answer:
        started = time.perf_counter()

        def answer(status: int | None, error: str, retry_after: str | None = None) -> Answer:
            latency = round((time.perf_counter() - started) * 1000)
            return Answer(status, error[:ERROR_LENGTH], latency, retry_after)

        refusal = url_refusal(url)
        if refusal:
            return answer(None, f"refused: the URL {refusal}")
        parts = urlsplit(url)
        host = parts.hostname or ""
        default_port = 443 if parts.scheme == "https" else 80
        port = parts.port or default_port
        try:
            address = address_resolve(host, port)
        except AddressRefused as exc:
            return answer(None, f"refused: {exc}")
        pool = self._pool(endpoint_id, parts.scheme, host, port, address)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # The connection goes to the checked address; the Host header (and, for https,
        # SNI and the certificate check) name the URL's host.
        host_header = host if ":" not in host else f"[{host}]"
        if port != default_port:
            host_header += f":{port}"
        try:
            response = pool.urlopen(
                "POST",
                path,
                body=body,
                headers={**headers, "host": host_header},
                redirect=False,
                retries=False,
                timeout=self.timeout,
                preload_content=False,
                release_conn=False,
                assert_same_host=False,
            )
        except urllib3.exceptions.NewConnectionError as exc:  # (a ConnectTimeoutError too)
            return answer(None, f"connection failed: {_reason(exc)}")
        except urllib3.exceptions.TimeoutError:
            return answer(None, f"timed out after {self.seconds:g} s")
        except urllib3.exceptions.HTTPError as exc:
            return answer(None, f"connection failed: {_reason(exc)}")
        status, failure = response.status, ""
        try:
            start = response.read(READ_LIMIT)
            # A longer answer is not read to its end: that connection is not reused.
            reusable = len(start) < READ_LIMIT or not response.read(1)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            start, reusable, failure = b"", False, f"answered {status}, then {_reason(exc)}"
        if not reusable:
            response.close()
        response.release_conn()
        if failure:
            return answer(status, failure)  # a 2xx still counts: it was answered
        status = response.status
        if 200 <= status < 300:
            return answer(status, "")
        error = f"answered {status}"
        if 300 <= status < 400:
            error += " (redirects are not followed)"
        text = start.decode("utf-8", "replace").strip()
        if text:
            error += f": {text[:200]}"
        return answer(status, error, response.headers.get("retry-after"))

    def _pool(
        self, endpoint_id: int, scheme: str, host: str, port: int, address: str
    ) -> urllib3.HTTPConnectionPool:
        key = (endpoint_id, scheme, host, port, address)
        pool = self.pools.get(key)
        if pool is None:
            if scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    address,
                    port,
                    maxsize=1,
                    server_hostname=host,
                    assert_hostname=host,
                    cert_reqs="CERT_REQUIRED",
                )
            else:
                pool = urllib3.HTTPConnectionPool(address, port, maxsize=1)
            self.pools[key] = pool
        return pool


def _reason(exc: BaseException) -> str:
    """What the OS or the peer said, without urllib3's connection repr."""
    text = str(getattr(exc, "reason", None) or exc)
    if text.startswith(("HTTPConnection", "HTTPSConnection")) and "): " in text:
        text = text.split("): ", 1)[1]
    return text
