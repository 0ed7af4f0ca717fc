"""The attribution rule has one definition (attribution.rules): swap it for a deliberately
different one and every path follows, the postback fast path, the full path, the
re-attribution after a verdict change and fill_scale_data.

The cast: a contact got offer O twice, on Monday's message and an hour ago; they tapped
Monday's two days ago (A) and the new one ten minutes ago (B). The rule credits A
(click-through, inside O's 7-day window). Either swap credits B (direct): a 1-day window
leaves A out; "last click wins" prefers B.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from attribution import rules
from attribution.models import Conversion
from attribution.postback_input import ConversionInput
from attribution.services import conversion_attribution, conversion_record
from core.models import Offer
from links.bots import HUMAN
from links.clicks import click_verdict_set
from links.models import MessageShortLink, MessageShortLinkClick
from tests.helpers import TEST_BOT, click_stored

SWAPS = {
    "the rule itself": {},
    "a 1-day window for every offer": {"WINDOW_DAYS": "1"},
    "the last click wins": {"CREDIT_ORDER": "{click}.clicked_at DESC, {click}.id DESC"},
}
_ips = itertools.count(1)


@pytest.fixture(params=list(SWAPS), ids=list(SWAPS))
def swap(request: Any, monkeypatch: Any) -> str:
    for name, fragment in SWAPS[request.param].items():
        monkeypatch.setattr(rules, name, fragment)
    return request.param


def sent(owner: Any, offer: Offer, *, at: dt.datetime, campaign: str) -> MessageShortLink:
    data = owner.mint(
        contact={"external_id": "c1"},
        body="{{l}}",
        sent_at=at.isoformat(),
        links={"l": {"offer": offer.pk}},
        campaign=campaign,
        creative=f"{campaign}-A",
    )
    return MessageShortLink.objects.get(link_id=data["links"][0]["link_id"])


def tap(link: MessageShortLink, at: dt.datetime, *, bot: bool = False) -> MessageShortLinkClick:
    return click_stored(link, at, verdict=TEST_BOT if bot else HUMAN)


@pytest.fixture
def cast(owner: Any) -> dict[str, Any]:
    now = timezone.now()
    offer = Offer.objects.create(
        account=owner.account, name="O", destination_url="https://adv.example/",
        click_window_days=7,
    )  # fmt: skip
    monday = sent(owner, offer, at=now - dt.timedelta(days=3), campaign="Mon")
    today = sent(owner, offer, at=now - dt.timedelta(hours=1), campaign="Today")
    return {"owner": owner, "offer": offer, "now": now, "monday": monday, "today": today}


def expected(swap: str, a: MessageShortLinkClick, b: MessageShortLinkClick) -> tuple[str, str]:
    """(credited click id, type) under `swap`."""
    if swap == "the rule itself":
        return a.click_id, Conversion.AttributionType.CLICK_THROUGH
    return b.click_id, Conversion.AttributionType.DIRECT


@pytest.mark.django_db
def test_the_postback_fast_path_follows(swap: str, cast: dict[str, Any]) -> None:
    now, owner = cast["now"], cast["owner"]
    a = tap(cast["monday"], now - dt.timedelta(days=2))
    b = tap(cast["today"], now - dt.timedelta(minutes=10))
    client = Client(HTTP_HOST=owner.domain.host)
    postback = {"click_id": b.click_id, "token": owner.postback_token}
    client.get("/conv", {**postback, "txn_id": "warm"})  # the domain is cached now
    with CaptureQueriesContext(connection) as queries:
        answer = client.get("/conv", {**postback, "txn_id": "t1"}).json()
    assert queries.captured_queries == []  # the fast path answered it
    assert answer["status"] == "accepted"
    credited, kind = expected(swap, a, b)
    assert (answer["attribution"]["click_id"], answer["attribution"]["type"]) == (credited, kind)


@pytest.mark.django_db
def test_the_full_path_follows(swap: str, cast: dict[str, Any]) -> None:
    now, owner, today = cast["now"], cast["owner"], cast["today"]
    a = tap(cast["monday"], now - dt.timedelta(days=2))
    b = tap(today, now - dt.timedelta(minutes=10))
    conversion, created = conversion_record(
        account=owner.account,
        data=ConversionInput("purchase", Decimal("5"), "USD", "full", now),
        log=None,
        contact_id=today.contact_id,
        offer=cast["offer"],
        reported_link=today,
        message_id=today.message_id,
    )
    assert created
    credited, kind = expected(swap, a, b)
    assert conversion.message_click is not None
    assert (conversion.message_click.raw_click.click_id, conversion.attribution_type) == (
        credited,
        kind,
    )


@pytest.mark.django_db
def test_the_reattribution_after_a_verdict_change_follows(swap: str, cast: dict[str, Any]) -> None:
    """B is judged a bot at first, then a person: the conversion is attributed again."""
    now, owner, today = cast["now"], cast["owner"], cast["today"]
    a = tap(cast["monday"], now - dt.timedelta(days=2))
    b = tap(today, now - dt.timedelta(minutes=10), bot=True)
    conversion, _ = conversion_record(
        account=owner.account,
        data=ConversionInput("purchase", Decimal("5"), "USD", "re", now),
        log=None,
        contact_id=today.contact_id,
        offer=cast["offer"],
        reported_link=today,
        message_id=today.message_id,
    )
    before = conversion.message_click_id, conversion.attribution_type

    click_verdict_set(b, is_bot=False, reason="")

    conversion.refresh_from_db()
    credited, kind = expected(swap, a, b)
    assert conversion.message_click is not None
    assert (conversion.message_click.raw_click.click_id, conversion.attribution_type) == (
        credited,
        kind,
    )
    if swap != "the rule itself":
        assert (conversion.message_click_id, conversion.attribution_type) != before


@pytest.mark.django_db
def test_fill_scale_data_follows(swap: str, monkeypatch: Any) -> None:
    out = io.StringIO()
    call_command(
        "fill_scale_data", "--messages=1500", "--clicks=8000", "--conversions=300", "--seed=3",
        stdout=out, verbosity=0,
    )  # fmt: skip
    assert json.loads(out.getvalue())["counts"]["conversions"] == 300
    stored = {
        c.pk: (c.attribution_type, c.message_click_id, c.message_id, c.unattributed_reason)
        for c in Conversion.objects.all()
    }
    contact_level = list(
        Conversion.objects.filter(contact__isnull=False).select_related(
            "account", "offer", "reported_link"
        )
    )

    def credit_now(conversion: Conversion) -> tuple[Any, ...]:
        link = conversion.reported_link
        found = conversion_attribution(
            conversion.account,
            conversion.offer,
            conversion.contact_id,  # type: ignore[arg-type]
            conversion.occurred_at,
            link.message_id if link else None,
        )
        pk = found.message_click.pk if found.message_click else None
        return found.type, pk, found.message_id, found.reason

    # fill credited every conversion as the swapped rule does...
    assert all(stored[c.pk] == credit_now(c) for c in contact_level)
    if swap == "the rule itself":
        return
    # ...and not as the rule itself would have.
    monkeypatch.undo()
    assert any(stored[c.pk] != credit_now(c) for c in contact_level)
