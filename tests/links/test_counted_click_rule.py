"""The counted click is one rule (links.counting) that every path runs: swapped for a
deliberately different one ("the LATEST counted click wins"), the direct write, the click
consumer, the recompute after a verdict change and fill_scale_data all follow it; with the
real rule each picks the first."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.core.management import call_command

from core.models import Account
from links import counting, hooks, ids
from links.bots import HUMAN, Verdict
from links.click_stream import ClickEvent
from links.click_writer import ClickConsumer
from links.clicks import click_record, click_verdict_set
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick
from links.resolve import link_info_load

T0 = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
BOT = Verdict(True, "ua:crawler:test")
BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
LATEST_WINS = (("clicked_at", "DESC"), ("id", "DESC"))

# The rule each test runs under, and which of the clicks at T0 + 0, 1, 2 minutes (all
# counting) it must pick.
RULES = {"first": (counting.ORDER, 0), "latest": (LATEST_WINS, 2)}


@pytest.fixture(params=RULES)
def rule(request: Any, monkeypatch: pytest.MonkeyPatch) -> int:
    """Runs the test under the real rule and under the swapped one; returns the minute of
    the click that must count."""
    order, winner = RULES[request.param]
    monkeypatch.setattr(counting, "ORDER", order)
    return winner


def link_of(account: Any) -> MessageShortLink:
    data = account.mint(
        body="{{l}}", sent_at=T0.isoformat(), links={"l": {"url": "https://a.example/"}}
    )
    return MessageShortLink.objects.get(link_id=data["links"][0]["link_id"])


def record(link: MessageShortLink, minute: int, verdict: Verdict = HUMAN) -> MessageShortLinkClick:
    return click_record(
        link=link_info_load(link.link_id),  # type: ignore[arg-type]
        click_id=ids.new_click_id(T0 + minute * MINUTE),
        clicked_at=T0 + minute * MINUTE,
        ip="198.51.100.7",
        user_agent="test",
        referer="",
        accept_language="",
        method="GET",
        verdict=verdict,
    )


def counted_minute(link: MessageShortLink) -> int | None:
    row = MessageClick.objects.filter(message_id=link.message_id).first()
    return None if row is None else (row.clicked_at - T0) // MINUTE


@pytest.mark.django_db
def test_the_direct_write_follows_the_rule(owner: Any, rule: int) -> None:
    link = link_of(owner)
    # Out of order, as clicks reach the database; a bot after them all never counts.
    for minute in (1, 0, 2):
        record(link, minute)
    record(link, 3, BOT)

    assert counted_minute(link) == rule
    assert MessageClick.objects.get().raw_click.clicked_at == T0 + rule * MINUTE


@pytest.mark.django_db
def test_the_consumer_follows_the_rule(
    owner: Any, click_stream: Any, rule: int, settings: Any
) -> None:
    settings.CLICK_STREAM_BATCH = 2  # so the winner is decided within a batch and across
    link = link_of(owner)
    for minute, agent in ((1, BROWSER), (2, BROWSER), (0, BROWSER), (3, GOOGLEBOT)):
        event = ClickEvent(
            click_id=ids.new_click_id(T0 + minute * MINUTE), link_id=link.link_id,
            account_id=owner.account.pk,
            clicked_at=T0 + minute * MINUTE, ip="203.0.113.9", user_agent=agent, referer="",
            accept_language="", method="GET",
        )  # fmt: skip
        click_stream.xadd(settings.CLICK_STREAM_KEY, event.fields())

    results = ClickConsumer(click_stream).drain()

    assert [r.stored for r in results] == [2, 2]
    assert counted_minute(link) == rule


@pytest.mark.django_db
def test_the_recompute_after_a_verdict_change_follows_the_rule(
    owner: Any, rule: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    moved: list[tuple[int, int, int | None]] = []
    monkeypatch.setattr(
        hooks.counted_click_moved,
        "receivers",
        [*hooks.counted_click_moved.receivers, lambda *pair: moved.append(pair)],
    )
    link = link_of(owner)
    # Judged bots at first: nothing counts yet.
    clicks = [record(link, minute, BOT) for minute in (0, 1, 2)]
    assert counted_minute(link) is None

    # People after all, one by one in the order 1, 0, 2: each verdict change recomputes.
    for minute in (1, 0, 2):
        click_verdict_set(clicks[minute], is_bot=False, reason="")
    assert counted_minute(link) == rule
    # It moved when the first person came, and once more when the rule's winner did.
    assert len(moved) == 2
    assert moved[0][:2] == (link.contact_id, link.message_id)

    # The winner turns out a bot: the next one by the rule counts.
    click_verdict_set(clicks[rule], is_bot=True, reason="behaviour:test")
    assert counted_minute(link) == 1
    assert len(moved) == 3


@pytest.mark.django_db
def test_fill_scale_data_follows_the_rule(rule: int) -> None:
    out = io.StringIO()
    call_command(
        "fill_scale_data", "--messages=120", "--clicks=900", "--conversions=10", "--seed=3",
        stdout=out, verbosity=0,
    )  # fmt: skip
    accounts = list(Account.objects.values_list("pk", flat=True))
    pick: Callable[..., Any] = min if rule == 0 else max
    expected: dict[tuple[int, int], tuple[dt.datetime, int]] = {}
    for contact_id, message_id, clicked_at, pk in MessageShortLinkClick.objects.filter(
        account_id__in=accounts, is_bot=False
    ).values_list("contact_id", "message_id", "clicked_at", "id"):
        key = (contact_id, message_id)
        expected[key] = pick(expected.get(key, (clicked_at, pk)), (clicked_at, pk))
    stored = {
        (contact_id, message_id): (clicked_at, click_id)
        for contact_id, message_id, clicked_at, click_id in MessageClick.objects.filter(
            account_id__in=accounts
        ).values_list("contact_id", "message_id", "clicked_at", "raw_click_id")
    }
    assert len(stored) > 20
    assert stored == expected
