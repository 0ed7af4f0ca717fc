"""What a click came from (links.traits), stored on it by every path that stores clicks:
the click pipeline (the redirect's stream entry, then the consumer) and the direct write
(links.clicks.click_record); shown by the message API and the contact's journey."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from attribution.bot_checks import clicks_judge_pending
from links import ids, traits
from links.agents import Agent
from links.bots import HUMAN
from links.click_stream import ClickEvent
from links.click_writer import ClickConsumer
from links.clicks import click_record
from links.models import MessageShortLink, MessageShortLinkClick
from links.places import Place
from links.resolve import link_info_load
from links.traits import ClickTraits, click_traits
from tests.helpers import make_offer, tap

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
DESKTOP_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
CURL = "curl/8.5.0"
COMCAST = "73.0.0.1"
BRITISH = "81.2.69.160"


def traits_of(click: MessageShortLinkClick) -> tuple[Any, ...]:
    return (click.device, click.os, click.browser, click.country, click.network)


def link_of(account: Any) -> str:
    message = account.mint(body="{{l}}", links={"l": {"url": "https://shop.example/p"}})
    return message["links"][0]["link_id"]


def stream_event(account: Any, link_id: str, **fields: Any) -> ClickEvent:
    return ClickEvent(
        click_id=ids.new_click_id(now := timezone.now()), link_id=link_id,
        account_id=account.account.pk, clicked_at=now, ip=fields.pop("ip", COMCAST),
        user_agent=fields.pop("user_agent", IPHONE), referer="", accept_language="",
        method="GET", **fields,
    )  # fmt: skip


def consumed(click_stream: Any, *events: ClickEvent) -> list[MessageShortLinkClick]:
    for event in events:
        click_stream.xadd(settings.CLICK_STREAM_KEY, event.fields())
    ClickConsumer(click_stream).drain()
    return [MessageShortLinkClick.objects.get(click_id=e.click_id) for e in events]


INSERT = "INSERT INTO links_messageshortlinkclick"


def insert_runs() -> int:
    """How many times this connection ran a prepared statement that stores clicks."""
    connection.ensure_connection()
    row = connection.connection.execute(
        "SELECT coalesce(sum(generic_plans + custom_plans), 0) FROM pg_prepared_statements"
        " WHERE statement LIKE %s",
        [f"%{INSERT}%"],
    ).fetchone()
    return int(row[0])


@pytest.mark.django_db
class TestThroughTheClickPipeline:
    def test_a_comcast_iphone_tap_is_stored_as_a_us_mobile_on_ios(
        self, owner: Any, click_stream: Any
    ) -> None:
        click_id = tap(owner, link_of(owner), IPHONE, ip=COMCAST)
        assert not MessageShortLinkClick.objects.exists()  # still in the stream

        ClickConsumer(click_stream).drain()

        click = MessageShortLinkClick.objects.get(click_id=click_id)
        assert (click.device, click.os, click.browser) == ("mobile", "iOS", "Mobile Safari")
        assert click.country == "US" and click.network.startswith("COMCAST")

    def test_a_british_address_is_stored_as_gb(self, owner: Any, click_stream: Any) -> None:
        click_id = tap(owner, link_of(owner), DESKTOP_CHROME, ip=BRITISH)
        ClickConsumer(click_stream).drain()
        click = MessageShortLinkClick.objects.get(click_id=click_id)
        assert (click.device, click.os, click.browser, click.country) == (
            "desktop", "Windows", "Chrome", "GB"
        )  # fmt: skip

    @pytest.mark.parametrize(
        ("agent", "device", "os"),
        [
            (IPHONE, "mobile", "iOS"),
            (IPAD, "tablet", "iOS"),
            (DESKTOP_CHROME, "desktop", "Windows"),
            (CURL, "other", ""),
        ],
    )
    def test_each_agent_is_stored_as_its_device(
        self, owner: Any, click_stream: Any, agent: str, device: str, os: str
    ) -> None:
        [click] = consumed(click_stream, stream_event(owner, link_of(owner), user_agent=agent))
        assert (click.device, click.os) == (device, os)

    def test_a_batch_stores_each_click_with_its_own_traits(
        self, owner: Any, click_stream: Any
    ) -> None:
        link_id = link_of(owner)
        clicks = consumed(
            click_stream,
            stream_event(owner, link_id, ip=COMCAST, user_agent=IPHONE),
            stream_event(owner, link_id, ip=BRITISH, user_agent=CURL),
            stream_event(owner, link_id, ip=None, user_agent=IPAD),
        )
        assert [traits_of(c) for c in clicks] == [
            tuple(vars(click_traits(ip, ua)).values())
            for ip, ua in [(COMCAST, IPHONE), (BRITISH, CURL), (None, IPAD)]
        ]
        assert [c.country for c in clicks] == ["US", "GB", None]

    def test_traits_the_redirect_sent_win_over_working_them_out_again(
        self, owner: Any, click_stream: Any
    ) -> None:
        sent = ClickTraits("desktop", "Windows", "Edge", "FR", "Orange")
        [click] = consumed(click_stream, stream_event(owner, link_of(owner), traits=sent))
        # The entry's IP and agent (a Comcast iPhone) would have said otherwise.
        assert traits_of(click) == ("desktop", "Windows", "Edge", "FR", "Orange")

    def test_the_variant_is_the_redirects_else_the_links(
        self, owner: Any, click_stream: Any
    ) -> None:
        link_id = link_of(owner)
        MessageShortLink.objects.filter(link_id=link_id).update(variant="b")
        clicks = consumed(
            click_stream,
            stream_event(owner, link_id),  # an entry that does not say: the link's
            stream_event(owner, link_id, variant="a"),
            stream_event(owner, link_id, variant=""),  # a rule routed it: none
        )
        assert [c.variant for c in clicks] == ["b", "a", ""]

    def test_the_batch_is_still_one_statement(self, owner: Any, click_stream: Any) -> None:
        link_id = link_of(owner)
        for _ in range(3):
            tap(owner, link_id, IPHONE, ip=COMCAST)
        runs_before = insert_runs()
        with CaptureQueriesContext(connection) as queries:
            ClickConsumer(click_stream).drain()
        # A batch this small runs prepared (core.prepared), so Django's log does not see it:
        # PostgreSQL's count of the prepared statement's runs does.
        through_django = [q for q in queries if INSERT in q["sql"]]
        assert len(through_django) + insert_runs() - runs_before == 1
        assert MessageShortLinkClick.objects.filter(country="US", device="mobile").count() == 3


@pytest.mark.django_db
class TestTheDirectWrite:
    def record(self, link_id: str, **fields: Any) -> MessageShortLinkClick:
        return click_record(
            link=link_info_load(link_id), click_id=ids.new_click_id(timezone.now()),
            clicked_at=timezone.now(),
            ip=fields.pop("ip", BRITISH), user_agent=fields.pop("user_agent", IPHONE),
            referer="", accept_language="", method="GET", verdict=HUMAN, **fields,
        )  # fmt: skip

    def test_a_tap_without_the_pipeline_is_stored_with_its_traits(self, owner: Any) -> None:
        tap(owner, link_of(owner), IPHONE, ip=COMCAST)  # the redirect writes it itself
        click = MessageShortLinkClick.objects.get()
        # The agent's traits in the request; the place is the judge's to complete.
        assert (click.device, click.os, click.country, click.network) == (
            "mobile", "iOS", None, ""
        )  # fmt: skip
        assert clicks_judge_pending() == 1
        click.refresh_from_db()
        assert (click.device, click.os, click.country) == ("mobile", "iOS", "US")
        assert click.network.startswith("COMCAST")

    def test_it_works_the_traits_out_when_not_given(self, owner: Any) -> None:
        click = self.record(link_of(owner), ip=BRITISH, user_agent=IPAD)
        assert (click.device, click.os, click.country) == ("tablet", "iOS", None)
        clicks_judge_pending()
        click.refresh_from_db()
        assert traits_of(click) == tuple(vars(click_traits(BRITISH, IPAD)).values())

    def test_a_place_still_unknown_after_the_judge_is_unknown(self, owner: Any) -> None:
        click = self.record(link_of(owner), ip="10.1.2.3", user_agent=IPAD)
        clicks_judge_pending()
        click.refresh_from_db()
        assert (click.device, click.country, click.network) == ("tablet", None, "")

    def test_traits_given_win(self, owner: Any) -> None:
        given = ClickTraits("desktop", "Mac OS X", "Safari", "DE", "Deutsche Telekom AG")
        click = self.record(link_of(owner), traits=given)
        click.refresh_from_db()
        assert traits_of(click) == ("desktop", "Mac OS X", "Safari", "DE", "Deutsche Telekom AG")

    def test_the_variant_is_the_one_given_else_the_links(self, owner: Any) -> None:
        link_id = link_of(owner)
        MessageShortLink.objects.filter(link_id=link_id).update(variant="b")
        clicks = [
            self.record(link_id),
            self.record(link_id, variant="a"),
            self.record(link_id, variant=""),
        ]
        stored = [MessageShortLinkClick.objects.get(pk=c.pk).variant for c in clicks]
        assert stored == ["b", "a", ""]


def click_before_traits(account: Any, link_id: str) -> str:
    """A raw click as stored before issue 17: the trait columns left to their defaults."""
    link = MessageShortLink.objects.get(link_id=link_id)
    click_id = ids.new_click_id(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO links_messageshortlinkclick (click_id, account_id, short_link_id,"
            " message_id, contact_id, clicked_at, ip, user_agent, referer, accept_language,"
            " method, is_bot, bot_reason) VALUES (%s, %s, %s, %s, %s, now(), %s, %s, '', '',"
            " 'GET', false, '')",
            [click_id, link.account_id, link.pk, link.message_id, link.contact_id, COMCAST, IPHONE],
        )
    return click_id


@pytest.mark.django_db
class TestShown:
    def test_the_message_api_shows_each_clicks_traits_and_variant(self, owner: Any) -> None:
        # One variant only: every link draws it.
        offer = make_offer(
            owner, variants=[{"name": "a", "url": "https://shop.example/a", "weight": 1}]
        )
        # Sent an hour ago: the judge (which completes the place) sees no delivery scan.
        an_hour_ago = (timezone.now() - dt.timedelta(hours=1)).isoformat()
        message = owner.mint(body="{{l}}", links={"l": {"offer": offer.pk}}, sent_at=an_hour_ago)
        link_id = message["links"][0]["link_id"]
        assert MessageShortLink.objects.get(link_id=link_id).variant == "a"
        first = tap(owner, link_id, IPHONE, ip=COMCAST)
        second = tap(owner, link_id, CURL, ip=BRITISH)
        clicks_judge_pending()  # the direct write's place

        body = owner.get(f"/api/v1/messages/{message['id']}").json()

        assert body["raw_clicks"] == 2
        assert [c["click_id"] for c in body["clicks"]] == [first, second]
        iphone, curl = body["clicks"]
        assert {k: iphone[k] for k in ("device", "os", "browser", "country", "variant")} == {
            "device": "mobile", "os": "iOS", "browser": "Mobile Safari", "country": "US",
            "variant": "a",
        }  # fmt: skip
        assert iphone["network"].startswith("COMCAST") and iphone["counted"] is True
        assert iphone["link_id"] == link_id and iphone["clicked_at"].endswith("Z")
        assert (curl["device"], curl["country"], curl["is_bot"], curl["counted"]) == (
            "other", "GB", True, False
        )  # fmt: skip

    def test_the_journey_shows_each_clicks_traits(self, owner: Any, outsider: Any) -> None:
        message = owner.mint(body="{{l}}", links={"l": {"url": "https://shop.example/p"}})
        tap(owner, message["links"][0]["link_id"], IPAD, ip=BRITISH)
        clicks_judge_pending()  # the direct write's place
        contact_id = message["contact"]["id"]

        body = owner.get(f"/api/v1/contacts/{contact_id}/journey").json()

        [click] = [e for e in body["events"] if e["type"] == "click"]
        assert (click["device"], click["os"], click["country"], click["variant"]) == (
            "tablet", "iOS", "GB", ""
        )  # fmt: skip
        assert click["network"] == click_traits(BRITISH, IPAD).network != ""
        [sent] = [e for e in body["events"] if e["type"] == "message"]
        assert "device" not in sent  # a message has no device
        assert outsider.get(f"/api/v1/contacts/{contact_id}/journey").status_code == 404

    def test_a_click_stored_before_reads_as_other_and_no_country(self, owner: Any) -> None:
        message = owner.mint(body="{{l}}", links={"l": {"url": "https://shop.example/p"}})
        click_id = click_before_traits(owner, message["links"][0]["link_id"])

        [shown] = owner.get(f"/api/v1/messages/{message['id']}").json()["clicks"]
        journey = owner.get(f"/api/v1/contacts/{message['contact']['id']}/journey").json()
        [in_journey] = [e for e in journey["events"] if e["type"] == "click"]

        for click in (shown, in_journey):
            assert click["click_id"] == click_id
            assert (click["device"], click["os"], click["browser"]) == ("other", "", "")
            assert (click["country"], click["network"], click["variant"]) == (None, "", "")


@pytest.mark.django_db
def test_every_path_follows_the_one_definition_when_it_is_swapped(
    owner: Any, click_stream: Any, monkeypatch: Any, request: Any
) -> None:
    """links.traits.click_traits is the rule: swap what it reads for something else and the
    consumer and the direct write (its place completed by the judge) both store the swap."""
    for cached in (traits.click_traits, traits.agent_traits):
        cached.cache_clear()  # forget the real answers
        request.addfinalizer(cached.cache_clear)  # and the swapped ones after
    monkeypatch.setattr(traits, "agent_parse", lambda ua: Agent("tablet", "Swapped OS", "S"))
    monkeypatch.setattr(traits, "place_of", lambda ip: Place("FR", "SWAPPED-NET"))
    swapped = ("tablet", "Swapped OS", "S", "FR", "SWAPPED-NET")
    link_id = link_of(owner)

    [consumed_click] = consumed(click_stream, stream_event(owner, link_id))
    direct = TestTheDirectWrite().record(link_id)
    clicks_judge_pending()  # completes the direct write's place through the same rule
    direct.refresh_from_db()

    assert traits_of(consumed_click) == traits_of(direct) == swapped
