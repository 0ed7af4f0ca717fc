"""A real webhook receiver for the tests: a threaded HTTP/1.1 server on a local port that
records every request and answers as told (a status with headers, or never), and can be
stopped (its port closed) and started again on the same port."""

from __future__ import annotations

import base64
import os
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook

from core.models import WebhookEndpoint
from core.sealing import sealed
from tests.servers import free_port


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int  # what the receiver answered

    @property
    def msg_id(self) -> str:
        return self.headers["webhook-id"]

    def verified(self, secret: str) -> Any:
        """The body, parsed, once the signature checks out with `secret` (else raises)."""
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.script: deque[tuple[int, dict[str, str]]] = deque()
        self.default: tuple[int, dict[str, str]] = (200, {})
        self.hang = threading.Event()  # set: requests are never answered
        self.released = threading.Event()
        self.server: ThreadingHTTPServer | None = None

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def answer(self, status: int, times: int | None = None, **headers: str) -> None:
        """Answer `status` (with headers, `_` as `-`) the next `times` requests, or all."""
        entry = (status, {k.replace("_", "-"): v for k, v in headers.items()})
        with self.lock:
            if times is None:
                self.default = entry
            else:
                self.script.extend([entry] * times)

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if receiver.hang.is_set():
                    receiver.released.wait(30)
                    return
                with receiver.lock:
                    status, headers = (
                        receiver.script.popleft() if receiver.script else receiver.default
                    )
                    headers_in = {k.lower(): v for k, v in self.headers.items()}
                    receiver.received.append(Received(self.path, headers_in, body, status))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        """Close the port (connections to it are refused)."""
        if self.server is not None:
            self.released.set()
            self.server.shutdown()
            self.server.server_close()
            self.server = None


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def endpoint_make(
    account: Any,
    url: str,
    events: list[str] | None = None,
    secret: str | None = None,
    **fields: Any,
) -> tuple[WebhookEndpoint, str]:
    """An endpoint of the account (an AccountFixture), made directly, and its secret."""
    secret = secret or new_secret()
    endpoint = WebhookEndpoint.objects.create(
        account=account.account,
        url=url,
        events=["message.clicked"] if events is None else events,
        secret_sealed=sealed(secret),
        **fields,
    )
    return endpoint, secret
