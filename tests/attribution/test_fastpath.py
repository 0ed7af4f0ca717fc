"""The two-statement postback path (attribution/fastpath.py) against the full rule (and the
full rule's SQL against its ORM form for the embedded SQLite default).

The fast path decides only the credited case and must credit exactly the click that
attribution.rules would; everything else it must leave to the full path, recording nothing.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attribution import fastpath, rules
from attribution.models import Conversion, PostbackLog
from attribution.postback_input import ConversionInput
from attribution.services import conversion_attribution, postback_log_open
from core.models import Account, Offer
from links.bots import HUMAN, Verdict
from links.models import MessageShortLink, MessageShortLinkClick
from tests.helpers import TEST_BOT, click_stored

T0 = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)
DAY = 86400
BOT = Verdict(True, "ua:crawler:test")
_ips = itertools.count(1)


def message(account: Any, link: dict, *, sent_at: dt.datetime, campaign: str) -> MessageShortLink:
    data = account.mint(
        contact={"external_id": "c1"},
        body="{{l}}",
        sent_at=sent_at.isoformat(),
        links={"l": link},
        campaign=campaign,
        creative=f"{campaign}-A",
    )
    return MessageShortLink.objects.get(link_id=data["links"][0]["link_id"])


def click(link: MessageShortLink, at: dt.datetime, *, bot: bool) -> MessageShortLinkClick:
    return click_stored(link, at, verdict=TEST_BOT if bot else HUMAN)


def log_for(account: Account) -> PostbackLog:
    return postback_log_open(
        account_id=account.pk, endpoint="conv", method="GET", host="h", query="", body="",
        ip=None, user_agent="",
    )  # fmt: skip


# Three messages to one contact: two carry the same offer, one a plain URL (no offer).
clicks_plan = st.lists(
    st.tuples(st.integers(0, 2), st.integers(0, 4 * DAY), st.booleans()), min_size=1, max_size=8
)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plan=clicks_plan,
    offer_window=st.sampled_from([None, 1, 2]),
    named=st.integers(0, 7),
    by_link=st.booleans(),
    at_offset=st.integers(0, 5 * DAY),
    edge=st.sampled_from([None, -1, 0, 1]),
)
def test_the_fast_path_credits_exactly_what_the_rule_credits(
    make_account: Any,
    plan: list,
    offer_window: int | None,
    named: int,
    by_link: bool,
    at_offset: int,
    edge: int | None,
) -> None:
    owner = make_account(default_click_window_days=3)
    account = owner.account
    offer = Offer.objects.create(account=account, name="O", destination_url="https://a.example/")
    offer.click_window_days = offer_window
    offer.save()
    links = [
        message(owner, {"offer": offer.pk}, sent_at=T0, campaign="Mon"),
        message(owner, {"offer": offer.pk}, sent_at=T0 + dt.timedelta(days=1), campaign="Wed"),
        message(owner, {"url": "https://a.example/"}, sent_at=T0, campaign="Plain"),
    ]
    clicks = [
        click(links[which], T0 + dt.timedelta(seconds=offset), bot=bot)
        for which, offset, bot in plan
    ]
    reported = clicks[named % len(clicks)]
    link = next(candidate for candidate in links if candidate.pk == reported.short_link_id)
    window = (offer_window or 3) if link.offer_id else 3
    at = T0 + dt.timedelta(seconds=at_offset)
    if edge is not None:  # land on the window's edge: inside by a second, on it, outside by one
        at = min(c.clicked_at for c in clicks) + dt.timedelta(days=window, seconds=edge)

    expected = conversion_attribution(account, link.offer, link.contact_id, at, link.message_id)
    # The embedded SQLite default's ORM form of the rule agrees with its SQL.
    assert expected == rules.attribution_find_embedded(
        account_id=account.pk,
        contact_id=link.contact_id,
        offer_id=link.offer_id,
        occurred_at=at,
        message_id=link.message_id,
    )
    data = ConversionInput("purchase", Decimal("5"), "", None, at)
    got = fastpath.conversion_credit(
        account_id=account.pk,
        data=data,
        log=log_for(account),
        click_id="" if by_link else reported.click_id,
        link_id=link.link_id if by_link else "",
    )

    if expected.message_click is None:
        assert got is None
        assert not Conversion.objects.filter(account=account).exists()
        return
    assert got is not None
    attribution, conversion_id, clicked_at = got
    assert attribution == {
        "type": expected.type,
        "click_id": expected.message_click.raw_click.click_id,
        "message_id": expected.message_id,
        "creative_id": expected.creative_id,
        "offer_id": link.offer_id,
        "contact_id": link.contact_id,
        "campaign_id": expected.campaign_id,
    }
    assert clicked_at == expected.message_click.clicked_at
    conversion = Conversion.objects.get(pk=conversion_id)
    assert (conversion.message_click_id, conversion.raw_click_id) == (
        expected.message_click.pk,
        expected.message_click.raw_click_id,
    )
    assert conversion.reported_link_id == link.pk and conversion.currency == account.currency


@pytest.mark.django_db
class TestTheFastPath:
    def test_a_credited_postback_uses_no_orm_query(self, owner: Any) -> None:
        offer = Offer.objects.create(
            account=owner.account, name="O", destination_url="https://adv.example/"
        )
        link = message(owner, {"offer": offer.pk}, sent_at=T0, campaign="C")
        tapped = click(link, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), bot=False)
        client = Client(HTTP_HOST=owner.domain.host)
        client.get(
            "/conv", {"click_id": tapped.click_id, "token": owner.postback_token, "txn_id": "warm"}
        )
        with CaptureQueriesContext(connection) as queries:
            response = client.get(
                "/conv",
                {"click_id": tapped.click_id, "token": owner.postback_token, "txn_id": "t1"},
            )
        assert response.json()["status"] == "accepted"
        assert response.json()["attribution"]["type"] == "click_through"
        # Two prepared statements (log; credit and close), none through the ORM.
        assert [q["sql"] for q in queries.captured_queries] == []
        prepared = connection.connection.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%attribution_%'"
        ).fetchone()[0]
        assert prepared == 2  # (the redirect's link lookup, prepared by click(), aside)
        log = PostbackLog.objects.get(query__contains="txn_id=t1")
        assert (log.outcome, log.http_status) == ("accepted", 200)

    def test_the_payout_and_currency_default_to_the_offers_and_accounts(self, owner: Any) -> None:
        Account.objects.filter(pk=owner.account.pk).update(currency="EUR")
        offer = Offer.objects.create(
            account=owner.account, name="O", destination_url="https://adv.example/",
            default_payout=Decimal("7.25"),
        )  # fmt: skip
        link = message(owner, {"offer": offer.pk}, sent_at=T0, campaign="C")
        tapped = click(link, dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5), bot=False)
        response = Client(HTTP_HOST=owner.domain.host).get(
            "/conv", {"click_id": tapped.click_id, "token": owner.postback_token}
        )
        assert response.json()["attribution"]["type"] == "direct"
        conversion = Conversion.objects.get()
        assert (conversion.revenue, conversion.currency) == (Decimal("7.25"), "EUR")
        assert conversion.revenue_reported is False

    def test_a_repeat_after_a_fast_accept_is_a_duplicate(self, owner: Any) -> None:
        link = message(owner, {"url": "https://a.example/"}, sent_at=T0, campaign="C")
        tapped = click(link, dt.datetime.now(dt.UTC) - dt.timedelta(hours=2), bot=False)
        client = Client(HTTP_HOST=owner.domain.host)
        first = client.get(
            "/conv",
            {
                "click_id": tapped.click_id,
                "token": owner.postback_token,
                "txn_id": "x",
                "revenue": "2",
            },
        )
        again = client.get(
            "/conv",
            {
                "click_id": tapped.click_id,
                "token": owner.postback_token,
                "txn_id": "x",
                "revenue": "2",
            },
        )
        assert first.json()["status"] == "accepted"
        assert again.json()["status"] == "duplicate"
        assert again.json()["conversion_id"] == first.json()["conversion_id"]
        assert again.json()["attribution"] == first.json()["attribution"]
        assert Conversion.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_postback_after_its_connection_died_reconnects(owner: Any) -> None:
    link = message(owner, {"url": "https://a.example/"}, sent_at=T0, campaign="C")
    tapped = click(link, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), bot=False)
    client = Client(HTTP_HOST=owner.domain.host)
    assert (
        client.get(
            "/conv", {"click_id": tapped.click_id, "token": owner.postback_token}
        ).status_code
        == 200
    )
    # PostgreSQL restarted between two requests: the persistent connection is gone.
    backend = connection.connection.info.backend_pid
    with psycopg.connect(connection.connection.info.dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])
    response = client.get(
        "/conv", {"click_id": tapped.click_id, "token": owner.postback_token, "txn_id": "after"}
    )
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    assert connection.connection.info.backend_pid != backend
    assert PostbackLog.objects.filter(outcome="accepted").count() == 2


@pytest.mark.django_db
class TestTheFullPathAlone:
    def test_the_embedded_default_logs_and_credits_through_the_orm(
        self, owner: Any, monkeypatch: Any
    ) -> None:
        """SQLite: the fast path's SQL is PostgreSQL's, so every postback takes the full
        path (here on PostgreSQL, told it is not)."""
        link = message(owner, {"url": "https://a.example/"}, sent_at=T0, campaign="C")
        tapped = click(link, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), bot=False)
        monkeypatch.setattr(connection, "vendor", "sqlite")
        response = Client(HTTP_HOST=owner.domain.host).get(
            "/conv",
            {
                "click_id": tapped.click_id,
                "token": owner.postback_token,
                "txn_id": "s1",
                "revenue": "4",
            },
        )
        assert response.status_code == 200, response.content
        assert response.json()["attribution"]["click_id"] == tapped.click_id
        log = PostbackLog.objects.get()
        assert (log.outcome, log.http_status) == ("accepted", 200)

    def test_without_prepared_statements_the_fast_path_still_credits(
        self, owner: Any, settings: Any
    ) -> None:
        settings.PREPARED_STATEMENTS = False  # behind a transaction-mode pooler
        link = message(owner, {"url": "https://a.example/"}, sent_at=T0, campaign="C")
        tapped = click(link, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), bot=False)
        client = Client(HTTP_HOST=owner.domain.host)
        client.get(
            "/conv", {"click_id": tapped.click_id, "token": owner.postback_token}
        )  # the domain is cached now
        before = connection.connection.execute(
            "SELECT count(*) FROM pg_prepared_statements"
        ).fetchone()[0]
        with CaptureQueriesContext(connection) as queries:
            response = client.get(
                "/conv", {"click_id": tapped.click_id, "token": owner.postback_token}
            )
        assert response.json()["status"] == "accepted"
        assert queries.captured_queries == []  # still the fast path
        after = connection.connection.execute(
            "SELECT count(*) FROM pg_prepared_statements"
        ).fetchone()[0]
        assert after == before

    def test_a_click_window_of_a_century_is_credited(self, owner: Any) -> None:
        offer = Offer.objects.create(
            account=owner.account, name="O", destination_url="https://adv.example/",
            click_window_days=36500,
        )  # fmt: skip
        link = message(owner, {"offer": offer.pk}, sent_at=T0, campaign="C")
        tapped = click(link, T0, bot=False)
        response = Client(HTTP_HOST=owner.domain.host).get(
            "/conv", {"click_id": tapped.click_id, "token": owner.postback_token}
        )
        assert response.status_code == 200
        assert response.json()["attribution"]["type"] == "click_through"
