"""Attribution's receivers of the lower layers' hooks (attribution/receivers.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from attribution import receivers
from attribution.models import Conversion
from core import hooks as core_hooks
from links import hooks as links_hooks
from links.click_writer import ClickConsumer


def test_attribution_registers_its_receivers_when_the_app_is_ready() -> None:
    assert receivers.clicks_stored in links_hooks.clicks_stored.receivers
    assert receivers.bot_detection_switched in core_hooks.bot_detection_switched.receivers
    assert receivers.counted_click_moved in links_hooks.counted_click_moved.receivers


def test_a_hook_registers_a_receiver_once() -> None:
    hook = core_hooks.Hook("test")
    told: list[int] = []
    hook.register(told.append)
    hook.register(told.append)
    hook.send(7)
    assert told == [7]


@pytest.mark.django_db
class TestClicksStored:
    def test_without_a_pending_conversion_it_costs_one_query(
        self, owner: Any, django_assert_num_queries: Any
    ) -> None:
        with django_assert_num_queries(1):  # the conversion_reported_click index, no match
            receivers.clicks_stored(["a" * 16, "b" * 16])

    def test_it_settles_a_pending_conversion_that_named_one_of_the_clicks(
        self, owner: Any, click_stream: Any
    ) -> None:
        message = owner.mint(body="{{link1}}", links={"link1": {"url": "https://x.example/"}})
        tap = Client(HTTP_HOST=owner.domain.host).get(
            f"/{message['links'][0]['link_id']}", HTTP_USER_AGENT="Mozilla/5.0 (iPhone) Safari"
        )
        click_id = tap["Location"].rsplit("click_id=", 1)[1]
        early = Client(HTTP_HOST=owner.domain.host).get(
            "/conv", {"click_id": click_id, "token": owner.postback_token}
        )
        assert early.json()["status"] == "pending"

        receivers.clicks_stored([click_id])  # before the click is stored: still waiting
        assert Conversion.objects.get().status == Conversion.Status.PENDING
        ClickConsumer(click_stream).drain()  # stores it and sends the hook

        assert Conversion.objects.get().status == Conversion.Status.ACCEPTED
