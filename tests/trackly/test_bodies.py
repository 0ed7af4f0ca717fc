"""Request bodies: received whole before Django runs, a few at a time (trackly.bodies);
past DATA_UPLOAD_MAX_MEMORY_SIZE a 413 (core.api_errors, trackly.error_pages). Against the
real server with slow clients: test_slow_clients.py."""

from __future__ import annotations

import io
import json
import logging
import threading
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, RequestFactory

from core.bounds import MAX_TRACKING_REQUEST_BYTES
from trackly import bodies, wsgi


def environ(path: str, body: bytes, length: int | None = None, **extra: Any) -> dict[str, Any]:
    env = RequestFactory().generic("POST", path, body, "application/json", **extra).environ
    env["CONTENT_LENGTH"] = str(len(body) if length is None else length)
    return env


class BlockingInput:
    """A client that has sent its headers and then nothing, until told to go on."""

    def __init__(self, body: bytes) -> None:
        self.body, self.go, self.reading = io.BytesIO(body), threading.Event(), threading.Event()

    def read(self, size: int) -> bytes:
        self.reading.set()
        self.go.wait(10)
        return self.body.read(size)


def test_a_body_is_received_whole_before_django_sees_it() -> None:
    body = b'{"x": "' + b"a" * 200_000 + b'"}'  # past one read, and spooled to disk
    env = environ("/api/v1/messages", body, HTTP_HOST="localhost")
    source = env["wsgi.input"]
    assert bodies.BodyGate(1).receive(env) is True
    assert env["wsgi.input"] is not source
    assert env["wsgi.input"].read() == body


@pytest.mark.parametrize("length", [0, None, "x", 10**12])
def test_an_undeclared_or_oversized_body_is_left_unread(length: Any) -> None:
    env = environ("/api/v1/messages", b"{}")
    env["CONTENT_LENGTH"] = "" if length is None else str(length)
    source = env["wsgi.input"]
    assert bodies.BodyGate(1).receive(env) is True
    assert env["wsgi.input"] is source  # Django ignores it, or refuses it unread (413)


@pytest.mark.parametrize("path", ["/conv", "/pixel/Ab3xK9q.gif", "/Ab3xK9q", "/anything"])
def test_a_tracking_body_past_the_tracking_limit_is_left_for_its_413(path: str) -> None:
    env = environ(path, b"a" * (MAX_TRACKING_REQUEST_BYTES + 1), HTTP_HOST="go.owner.example")
    source = env["wsgi.input"]
    assert bodies.BodyGate(1).receive(env) is True
    assert env["wsgi.input"] is source


def test_a_tracking_query_counts_toward_its_limit() -> None:
    env = environ(
        "/conv", b"a" * 1000, HTTP_HOST="go.owner.example",
        QUERY_STRING="q=" + "x" * (MAX_TRACKING_REQUEST_BYTES - 500),
    )  # fmt: skip
    source = env["wsgi.input"]
    assert bodies.BodyGate(1).receive(env) is True
    assert env["wsgi.input"] is source


def test_an_app_host_body_past_the_tracking_limit_is_received() -> None:
    body = b"a" * (MAX_TRACKING_REQUEST_BYTES + 1)
    env = environ("/api/v1/messages", body, HTTP_HOST="localhost")
    source = env["wsgi.input"]
    assert bodies.BodyGate(1).receive(env) is True
    assert env["wsgi.input"] is not source and env["wsgi.input"].read() == body


def test_with_every_slot_taken_the_next_body_is_refused_until_one_frees() -> None:
    gate = bodies.BodyGate(1)
    slow = environ("/conv", b"a=1")
    slow["wsgi.input"] = BlockingInput(b"a=1")
    holder = threading.Thread(target=gate.receive, args=(slow,))
    holder.start()
    assert slow["wsgi.input"].reading.wait(10)
    try:
        assert gate.receive(environ("/conv", b"b=2")) is False
    finally:
        slow["wsgi.input"].go.set()
        holder.join()
    assert gate.receive(environ("/conv", b"b=2")) is True


def call(env: dict[str, Any]) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    # As Django's test client does: keep the test's connection (and its transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = wsgi.application(env, start_response)
        body = b"".join(response)
        getattr(response, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return seen["status"], seen["headers"], body


@pytest.mark.parametrize(
    ("path", "host", "shape"),
    [
        ("/api/v1/messages", "localhost", "detail"),
        ("/conv", "go.owner.example", "error"),
        ("/pixel/Ab3xK9q.gif", "go.owner.example", "gif"),
        ("/accounts/login/", "localhost", "page"),
    ],
)
def test_a_refused_body_is_a_503_in_its_endpoints_shape_and_logged(
    monkeypatch: Any, caplog: Any, path: str, host: str, shape: str
) -> None:
    monkeypatch.setattr(bodies, "gate", bodies.BodyGate(0))  # every slot taken
    with caplog.at_level(logging.WARNING, logger="trackly.bodies"):
        status, headers, body = call(environ(path, b"{}", HTTP_HOST=host))
    assert status.startswith("503") and headers["Retry-After"] == "1"
    assert headers["X-Content-Type-Options"] == "nosniff"
    if shape == "page":
        assert b"One moment" in body
    elif shape == "gif":
        assert headers["Content-Type"] == "image/gif" and body.startswith(b"GIF89a")
    else:
        assert "Retry in a moment" in json.loads(body)[shape]
    assert "every body slot taken" in caplog.text


@pytest.mark.django_db
def test_through_the_wsgi_application_django_reads_the_received_body(owner: Any) -> None:
    status, _, body = call(
        environ(
            "/api/v1/messages",
            json.dumps({"contact": {"external_id": "c1"}, "body": "Hi"}).encode(),
            HTTP_HOST="localhost",
            HTTP_AUTHORIZATION=f"Bearer {owner.api_key}",
        )
    )
    assert status.startswith("201"), body
    assert json.loads(body)["body"] == "Hi"


@pytest.mark.django_db
def test_an_api_body_past_the_limit_is_a_413_in_the_apis_shape_and_logged(
    owner: Any, settings: Any, caplog: Any
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = json.dumps({"contact": {"external_id": "c1"}, "body": "x" * 500})
    with caplog.at_level(logging.INFO, logger="core.api"):
        response = owner.client.post("/api/v1/messages", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request body is larger than 100 bytes (DATA_UPLOAD_MAX_MEMORY_SIZE): "
        "nothing was done. Send it in smaller requests."
    }
    assert "-> 413" in caplog.text


@pytest.mark.django_db
def test_a_dashboard_form_past_the_limit_is_a_413_page(settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = Client(HTTP_HOST="localhost").post(
        "/accounts/login/", {"username": "u" * 300, "password": "p"}
    )
    assert response.status_code == 413
    assert b"larger than 100 bytes" in response.content
