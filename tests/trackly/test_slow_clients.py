"""Slow clients cannot hold the production server: granian as the Procfile runs it
(tests/servers.py), on the suite's PostgreSQL and Redis. Headers must arrive within 10 s;
fifty clients trickling bodies a byte a second leave /healthz and the redirect answering
within 2 s (trackly.bodies). The bounds here are the issue's, not a benchmark."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import connection

from tests.servers import Trackly

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"
BODY_LIMIT = 100_000  # the server's DATA_UPLOAD_MAX_MEMORY_SIZE here: a cheap 413
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(django_db_setup: Any) -> Iterator[Trackly]:
    """The web server on the test database (tests mark themselves transaction=True, so
    what they write is committed for it, and flushed after)."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    url = f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    prefix = f"slow-{uuid.uuid4().hex}"
    app = Trackly(
        url, settings.REDIS_URL, CACHE_KEY_PREFIX=prefix, CLICK_STREAM_KEY=f"{prefix}:clicks",
        DATA_UPLOAD_MAX_MEMORY_SIZE=str(BODY_LIMIT),
    )  # fmt: skip
    app.web_start()
    try:
        yield app
    finally:
        app.stop()
        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def timed_get(port: int, host: str, path: str) -> tuple[int, float]:
    """(status, seconds); status 0 when no answer came within 5 s."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host, "User-Agent": BROWSER})
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    except TimeoutError:
        return 0, time.monotonic() - started
    finally:
        conn.close()


def answer(sock: socket.socket) -> str:
    """What a trickling client has had back so far: "held" (nothing yet), a status, or
    "closed" (reset before we read its answer)."""
    try:
        head = sock.recv(64, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return "held"
    except OSError:
        return "closed"
    return head.split(b" ")[1].decode() if head else "closed"


@pytest.mark.django_db(transaction=True)
def test_fifty_clients_trickling_bodies_leave_healthz_and_redirects_within_two_seconds(
    server: Trackly, owner: Any
) -> None:
    link_id = owner.mint(body="{{link1}}", links={"link1": {"url": "https://shop.example/p"}})[
        "links"
    ][0]["link_id"]
    heads = [
        # Both read their body: the API after the key, a postback to log it first.
        b"POST /api/v1/messages HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json"
        b"\r\nAuthorization: Bearer " + owner.api_key.encode(),
        b"POST /conv HTTP/1.1\r\nHost: " + owner.domain.host.encode()
        + b"\r\nContent-Type: application/x-www-form-urlencoded",
    ]  # fmt: skip
    tricklers = []
    for i in range(50):
        sock = socket.create_connection(("127.0.0.1", server.port))
        sock.sendall(heads[i % 2] + b"\r\nContent-Length: 1000\r\n\r\n")
        tricklers.append(sock)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(1):
            for sock in tricklers:
                with contextlib.suppress(OSError):  # answered 503 and closed
                    sock.send(b"a")

    thread = threading.Thread(target=trickle)
    thread.start()
    probes = []
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            probes.append(("/healthz", *timed_get(server.port, "localhost", "/healthz")))
            probes.append(("redirect", *timed_get(server.port, owner.domain.host, f"/{link_id}")))
        answers = [answer(sock) for sock in tricklers]
    finally:
        stop.set()
        thread.join()
        for sock in tricklers:
            sock.close()

    slowest = max(seconds for _, _, seconds in probes)
    assert slowest < 2, f"slowest answer {slowest:.2f} s while 50 clients trickle bodies"
    assert {(path, status) for path, status, _ in probes} == {("/healthz", 200), ("redirect", 302)}
    # The attack was real: some bodies are still being received (each holds a thread),
    # the others were answered 503 at once rather than left to hold one.
    assert answers.count("held") >= 1
    assert set(answers) <= {"held", "503", "closed"}, answers


def test_a_client_must_send_its_headers_within_ten_seconds(server: Trackly) -> None:
    idle = socket.create_connection(("127.0.0.1", server.port))  # sends nothing at all
    slow = socket.create_connection(("127.0.0.1", server.port))
    slow.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
    started = time.monotonic()
    cut: dict[str, float] = {}
    try:
        for sock in (idle, slow):
            sock.settimeout(0.2)
        while len(cut) < 2 and time.monotonic() - started < 15:
            for name, sock in (("idle", idle), ("slow", slow)):
                if name in cut:
                    continue
                try:
                    if name == "slow":
                        sock.send(b"a")  # a header byte every 0.2 s, never the end
                    if sock.recv(64) == b"":
                        cut[name] = time.monotonic() - started
                except TimeoutError:
                    pass
                except OSError:
                    cut[name] = time.monotonic() - started
    finally:
        idle.close()
        slow.close()
    assert set(cut) == {"idle", "slow"}, f"still open after 15 s: {cut}"
    for name, seconds in cut.items():
        assert 9.5 <= seconds < 12, f"{name} cut after {seconds:.1f} s"


@pytest.mark.django_db(transaction=True)
def test_an_api_body_past_the_limit_is_a_413_in_the_apis_error_shape(
    server: Trackly, owner: Any
) -> None:
    body = json.dumps([{"contact": {"external_id": "c"}, "body": "x" * BODY_LIMIT}]).encode()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(
            "POST", "/api/v1/messages/bulk", body=body,
            headers={"Host": "localhost", "Authorization": f"Bearer {owner.api_key}",
                     "Content-Type": "application/json"},
        )  # fmt: skip
        response = conn.getresponse()
        answered = response.read()
    finally:
        conn.close()
    assert response.status == 413
    assert response.getheader("Content-Type") == "application/json"
    assert "DATA_UPLOAD_MAX_MEMORY_SIZE" in json.loads(answered)["detail"]
