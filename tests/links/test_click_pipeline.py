"""The click pipeline in-process: redirect -> Redis Stream -> consumer -> PostgreSQL.

The same behaviour through the whole redirect is in test_redirect.py (every test there
runs both ways); the faults with real servers stopping are in test_click_faults.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from attribution.models import Conversion
from core import redis_conn
from core.models import SendingList
from core.packed import columns_pack
from links import click_writer, hooks
from links.click_stream import ClickEvent
from links.click_writer import ClickConsumer, clicks_write
from links.models import MessageClick, MessageShortLinkClick
from tests.helpers import BROWSER, GOOGLEBOT, make_offer, tap


def mint(account: Any, **link: Any) -> dict:
    link = link or {"url": "https://shop.example/p"}
    return account.mint(body="{{link1}}", links={"link1": link})


def event(account: Any, link_id: str, click_id: str, at: dt.datetime, ua: str = BROWSER) -> Any:
    return ClickEvent(
        click_id=click_id, link_id=link_id, account_id=account.account.pk, clicked_at=at,
        ip="203.0.113.9", user_agent=ua, referer="", accept_language="", method="GET",
    )  # fmt: skip


@pytest.mark.django_db
class TestPipeline:
    def test_the_redirect_only_appends_and_the_consumer_stores(
        self, owner: Any, click_stream: Any
    ) -> None:
        link_id = mint(owner)["links"][0]["link_id"]
        click_id = tap(owner, link_id)
        assert not MessageShortLinkClick.objects.exists()
        assert click_stream.xlen(click_stream_key()) == 1

        [result] = ClickConsumer(click_stream).drain()

        assert (result.entries, result.stored, result.counted) == (1, 1, 1)
        click = MessageShortLinkClick.objects.get()
        assert click.click_id == click_id and click.short_link.link_id == link_id
        assert click.recorded_at >= click.clicked_at
        assert MessageClick.objects.get().raw_click == click
        # Acknowledged and deleted: nothing pending, nothing left.
        assert click_stream.xlen(click_stream_key()) == 0
        assert click_stream.xpending(click_stream_key(), "click-writers")["pending"] == 0

    def test_a_postback_before_its_click_is_matched_once_the_click_lands(
        self, owner: Any, click_stream: Any
    ) -> None:
        offer = make_offer(owner)
        message = mint(owner, offer=offer.pk)
        click_id = tap(owner, message["links"][0]["link_id"])  # still in the stream

        early = Client(HTTP_HOST=owner.domain.host).get(
            "/conv",
            {"click_id": click_id, "revenue": "12.50", "txn_id": "T1"}
            | {"token": owner.postback_token},
        )
        assert early.status_code == 202 and early.json()["status"] == "pending"

        ClickConsumer(click_stream).drain()  # the click lands

        conversion = Conversion.objects.get()
        assert conversion.status == Conversion.Status.ACCEPTED
        assert conversion.attribution_type == Conversion.AttributionType.DIRECT
        assert conversion.message_click == MessageClick.objects.get()
        assert conversion.message_id == message["id"]

    def test_each_committed_batch_is_told_to_the_clicks_stored_hook(
        self, owner: Any, click_stream: Any, monkeypatch: Any
    ) -> None:
        """Links tells attribution through its hook, never an import (links/hooks.py)."""
        told: list[list[str]] = []
        monkeypatch.setattr(hooks.clicks_stored, "receivers", [told.append])
        link_id = mint(owner)["links"][0]["link_id"]
        first, second = tap(owner, link_id), tap(owner, link_id)
        click_stream.xadd(click_stream_key(), {"c": "broken"})

        [result] = ClickConsumer(click_stream).drain()

        assert result.stored == 2 and result.dead == 1
        assert told == [[first, second]]  # after the commit, the malformed entry left out
        assert not ClickConsumer(click_stream).drain() and told == [[first, second]]

    def test_a_failing_clicks_stored_receiver_is_logged_and_holds_up_nothing(
        self, owner: Any, click_stream: Any, monkeypatch: Any, caplog: Any
    ) -> None:
        def fail(click_ids: list[str]) -> None:
            raise RuntimeError("receiver down")

        told: list[list[str]] = []
        monkeypatch.setattr(hooks.clicks_stored, "receivers", [fail, told.append])
        click_id = tap(owner, mint(owner)["links"][0]["link_id"])

        with caplog.at_level(logging.ERROR):
            [result] = ClickConsumer(click_stream).drain()

        assert result.stored == 1 and told == [[click_id]]  # the next receiver still ran
        assert "clicks_stored receiver" in caplog.text and "receiver down" in caplog.text
        assert click_stream.xlen(click_stream_key()) == 0  # acknowledged all the same

    def test_a_batch_that_is_not_full_lingers_for_more_clicks(
        self, owner: Any, click_stream: Any, monkeypatch: Any
    ) -> None:
        """Clicks appended while the consumer lingers go into the same transaction."""
        link_id = mint(owner)["links"][0]["link_id"]
        now = timezone.now()
        click_stream.xadd(click_stream_key(), event(owner, link_id, "i" * 16, now).fields())
        consumer = ClickConsumer(click_stream)
        consumer.group_ensure()
        lingered: list[float] = []

        def linger(seconds: float) -> None:
            # The consumer's clock: two clicks arrive while it waits, whatever the machine.
            lingered.append(seconds)
            for n in range(2):
                late = event(owner, link_id, f"j{n}" * 8, now)
                click_stream.xadd(click_stream_key(), late.fields())

        monkeypatch.setattr(
            click_writer, "time", SimpleNamespace(sleep=linger, monotonic=time.monotonic)
        )
        result = consumer.step(block_ms=None, linger=0.5)

        assert lingered == [0.5]
        assert result is not None and (result.entries, result.stored) == (3, 3)
        assert click_stream.xlen(click_stream_key()) == 0

    def test_the_consumer_recreates_its_group_when_redis_lost_it(
        self, owner: Any, click_stream: Any
    ) -> None:
        """Redis restarted empty: the next redirect makes a new stream with no group."""
        link_id = mint(owner)["links"][0]["link_id"]
        consumer = ClickConsumer(click_stream)
        consumer.group_ensure()
        click_stream.delete(click_stream_key())  # the restart
        click_id = tap(owner, link_id)

        assert consumer.step(block_ms=None) is None  # NOGROUP: the group is made again
        consumer.drain()

        assert MessageShortLinkClick.objects.get().click_id == click_id
        assert click_stream.xlen(click_stream_key()) == 0

    def test_writing_a_batch_twice_stores_each_click_once(self, owner: Any) -> None:
        """A consumer that died after its commit and before its acknowledgement: the
        batch comes round again."""
        link_id = mint(owner)["links"][0]["link_id"]
        now = timezone.now()
        batch = [
            event(owner, link_id, f"click{n:011d}", now + dt.timedelta(seconds=n)) for n in range(3)
        ]

        assert clicks_write(batch) == (3, 1)
        assert clicks_write(batch) == (0, 0)

        assert MessageShortLinkClick.objects.count() == 3
        assert MessageClick.objects.get().raw_click.click_id == "click00000000000"

    def test_a_batch_stores_every_value_as_it_came_whatever_the_text(self, owner: Any) -> None:
        """The batch's columns travel as joined texts (core.packed): a lone click
        with empty texts and no IP, and values holding the join's separators (any text
        can: the client sent them), are stored exactly, variant and country NULL-able."""
        link_id = mint(owner)["links"][0]["link_id"]
        now = timezone.now()
        lone = event(owner, link_id, "h" * 16, now, ua="")
        lone.ip = None
        assert clicks_write([lone]) == (1, 0)  # an empty agent: a bot (ua:empty)
        stored = MessageShortLinkClick.objects.get(click_id="h" * 16)
        assert (stored.ip, stored.user_agent, stored.referer, stored.accept_language) == (
            None, "", "", "",
        )  # fmt: skip
        assert (stored.clicked_at, stored.variant, stored.country) == (now, "", None)

        odd = [
            event(owner, link_id, f"odd{n:013d}", now + dt.timedelta(seconds=n), ua=ua)
            for n, ua in enumerate([BROWSER + "\x1f", "\x1e", BROWSER])
        ]
        odd[2].referer = "https://ref.example/\x1e\x1f"
        assert columns_pack([["a\x1f"]]) is None  # these go as arrays
        assert clicks_write(odd)[0] == 3
        assert [
            (c.user_agent, c.referer)
            for c in MessageShortLinkClick.objects.filter(click_id__startswith="odd").order_by(
                "click_id"
            )
        ] == [(BROWSER + "\x1f", ""), ("\x1e", ""), (BROWSER, "https://ref.example/\x1e\x1f")]

    def test_the_earliest_click_wins_within_a_batch_and_across_batches(self, owner: Any) -> None:
        link_id = mint(owner)["links"][0]["link_id"]
        now = timezone.now()
        late, early, earliest = (now, now - dt.timedelta(minutes=1), now - dt.timedelta(hours=1))

        clicks_write(
            [event(owner, link_id, "a" * 16, late), event(owner, link_id, "b" * 16, early)]
        )
        assert MessageClick.objects.get().raw_click.click_id == "b" * 16
        clicks_write([event(owner, link_id, "c" * 16, earliest)])  # arrived out of order
        assert MessageClick.objects.get().raw_click.click_id == "c" * 16

    def test_bots_are_stored_but_not_counted_unless_the_list_says_so(self, owner: Any) -> None:
        now = timezone.now()
        checked = mint(owner)["links"][0]["link_id"]
        clicks_write([event(owner, checked, "d" * 16, now, ua=GOOGLEBOT)])
        assert MessageShortLinkClick.objects.get().bot_reason
        assert not MessageClick.objects.exists()

        SendingList.objects.create(account=owner.account, name="Raw", bot_detection_enabled=False)
        unchecked = owner.mint(
            body="{{link1}}", list="Raw", links={"link1": {"url": "https://x.example/"}}
        )
        clicks_write([event(owner, unchecked["links"][0]["link_id"], "e" * 16, now, ua=GOOGLEBOT)])
        assert MessageClick.objects.get().raw_click.click_id == "e" * 16

    def test_a_click_on_another_accounts_link_or_a_gone_link_is_dropped(
        self, owner: Any, outsider: Any
    ) -> None:
        theirs = mint(outsider)["links"][0]["link_id"]
        now = timezone.now()
        assert clicks_write(
            [event(owner, theirs, "f" * 16, now), event(owner, "zzzzzzz", "g" * 16, now)]
        ) == (0, 0)
        assert not MessageShortLinkClick.objects.exists()

    def test_a_malformed_entry_goes_to_the_dead_letter_stream_and_the_rest_are_stored(
        self, owner: Any, click_stream: Any, caplog: Any
    ) -> None:
        link_id = mint(owner)["links"][0]["link_id"]
        click_stream.xadd(click_stream_key(), {"c": "broken"})
        tap(owner, link_id)

        with caplog.at_level(logging.ERROR):
            [result] = ClickConsumer(click_stream).drain()

        assert (result.entries, result.stored, result.dead) == (2, 1, 1)
        dead = click_stream.xrange(f"{click_stream_key()}:dead")
        assert dead[0][1][b"c"] == b"broken"
        assert "malformed" in caplog.text
        assert click_stream.xlen(click_stream_key()) == 0

    def test_what_a_dead_consumer_left_pending_is_taken_over(
        self, owner: Any, click_stream: Any, settings: Any
    ) -> None:
        link_id = mint(owner)["links"][0]["link_id"]
        click_id = tap(owner, link_id)
        dead = ClickConsumer(click_stream, name="dead-one")
        dead.group_ensure()
        assert len(dead.read(block_ms=None)) == 1  # taken, then the process "dies"

        settings.CLICK_STREAM_CLAIM_IDLE_SECONDS = 0
        [result] = ClickConsumer(click_stream, name="survivor").drain()

        assert result.stored == 1
        assert MessageShortLinkClick.objects.get().click_id == click_id
        assert click_stream.xpending(click_stream_key(), "click-writers")["pending"] == 0

    def test_a_restarted_consumer_first_finishes_its_own_pending_entries(
        self, owner: Any, click_stream: Any
    ) -> None:
        link_id = mint(owner)["links"][0]["link_id"]
        tap(owner, link_id)
        before = ClickConsumer(click_stream, name="web-1")
        before.group_ensure()
        before.read(block_ms=None)  # taken, not written

        [result] = ClickConsumer(click_stream, name="web-1").drain()  # same name, restarted

        assert result.stored == 1

    def test_with_redis_unreachable_the_redirect_writes_the_click_itself(
        self, owner: Any, click_stream: Any, settings: Any, caplog: Any
    ) -> None:
        link_id = mint(owner)["links"][0]["link_id"]
        settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
        redis_conn.reset()

        with caplog.at_level(logging.WARNING):
            click_id = tap(owner, link_id)

        assert MessageShortLinkClick.objects.get().click_id == click_id
        assert MessageClick.objects.count() == 1
        assert "Redis unreachable" in caplog.text
        # The circuit is open now: the next redirect does not even try.
        assert redis_conn.client() is None
        tap(owner, link_id)
        assert MessageShortLinkClick.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_clicks_the_consumer_stores_reach_the_reports(owner: Any, click_stream: Any) -> None:
    """The rollups learn of changes from database triggers, so batches written by the
    consumer's one-statement INSERT count like any other click."""
    from reporting.report_params import ReportFilters
    from reporting.reports import report
    from reporting.services import rollups_build

    link_id = mint(owner)["links"][0]["link_id"]
    for ua in (BROWSER, BROWSER, GOOGLEBOT):
        tap(owner, link_id, ua)
    ClickConsumer(click_stream).drain()

    rollups_build()

    totals = report(owner.account, "days", ReportFilters()).totals
    assert (totals["sends"], totals["raw_clicks"], totals["bot_clicks"]) == (1, 3, 1)
    assert totals["unique_clicks"] == 1


def click_stream_key() -> str:
    from django.conf import settings

    return settings.CLICK_STREAM_KEY


def test_consume_clicks_refuses_to_run_without_the_pipeline(settings: Any) -> None:
    settings.CLICK_STREAM = False
    with pytest.raises(CommandError, match="CLICK_STREAM"):
        call_command("consume_clicks", "--drain")
