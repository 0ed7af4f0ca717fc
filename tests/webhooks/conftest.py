"""Fixtures of the webhook tests: a receiver started per test, private addresses allowed
(the receiver is on loopback) unless a test says otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.webhooks.receiver import Receiver


@pytest.fixture(autouse=True)
def _private_allowed(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()
