"""Routing rules (links.routing, links.decision): an offer's rules send a tap by device,
country and language, through both doors of the real redirect, with the click id, and the
click carries the traits the redirect worked out."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core import redis_conn
from core.models import Offer
from links import redirect as redirect_module
from links import resolve
from links.click_stream import ClickEvent
from links.domains import tracking_domain_by_host
from links.models import MessageShortLinkClick
from links.routing import Rule, language_of, rule_match
from links.traits import ClickTraits
from tests.helpers import FrontClient, make_offer

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
GB_IP, US_IP = "81.2.69.160", "73.0.0.1"
APP_STORE = "https://apps.apple.com/app/id123456789"
PLAY_STORE = "https://play.google.com/store/apps/details?id=com.example.app"
STORE_RULES = [{"device": "ios", "url": APP_STORE}, {"device": "android", "url": PLAY_STORE}]


# Which door a tap knocks on: "direct" (the view, the click written in the request),
# "pipeline" (the view, the click appended to the stream) and "front" (the front door,
# trackly.wsgi, with the pipeline).
@pytest.fixture(params=["direct", "pipeline", "front"])
def door(request: Any) -> str:
    if request.param != "direct":
        request.getfixturevalue("click_stream")
    return request.param


def tap(account: Any, door: str, link_id: str, ua: str, ip: str = "127.0.0.1", **extra: Any) -> Any:
    client_class = FrontClient if door == "front" else Client
    if door == "front":
        # As after an earlier tap: domain and link in this process's cache, so the front
        # door answers (it declines a domain it has not cached).
        tracking_domain_by_host(account.domain.host)
        resolve.link_info(link_id)
    client = client_class(HTTP_HOST=account.domain.host)
    return client.get(f"/{link_id}", HTTP_USER_AGENT=ua, REMOTE_ADDR=ip, **extra)


def routed_link(account: Any, **offer_fields: Any) -> str:
    offer = make_offer(account, **offer_fields)
    message = account.mint(body="{{l}}", links={"l": {"offer": offer.pk}})
    return message["links"][0]["link_id"]


def location(response: Any) -> tuple[str, dict[str, list[str]]]:
    assert response.status_code == 302, response
    parts = urlsplit(response["Location"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)


def the_click(click_id: str) -> ClickEvent | MessageShortLinkClick:
    """The click as the redirect left it: the stored row (direct), or the stream entry
    (the pipeline: what the consumer stores from)."""
    if not django_settings.CLICK_STREAM:
        return MessageShortLinkClick.objects.get(click_id=click_id)
    entries = redis_conn.client().xrange(django_settings.CLICK_STREAM_KEY)
    events = [ClickEvent.from_fields(fields) for _, fields in entries]
    [event] = [e for e in events if e.click_id == click_id]
    return event


def traits_of(click: ClickEvent | MessageShortLinkClick) -> ClickTraits | None:
    if isinstance(click, ClickEvent):
        return click.traits
    return ClickTraits(click.device, click.os, click.browser, click.country, click.network)


@pytest.mark.django_db
class TestRulesThroughTheRedirect:
    def test_an_iphone_and_an_android_tap_land_on_their_stores_with_the_click_id(
        self, owner: Any, door: str
    ) -> None:
        link_id = routed_link(owner, rules=STORE_RULES)
        for ua, store, os_family in ((IPHONE, APP_STORE, "iOS"), (ANDROID, PLAY_STORE, "Android")):
            target, query = location(tap(owner, door, link_id, ua))
            assert target == store.split("?")[0]
            [click_id] = query["click_id"]
            click = the_click(click_id)
            traits = traits_of(click)
            assert traits is not None and traits.os == os_family and traits.device == "mobile"
            assert click.variant == ""  # rule-routed: no variant
        if door == "direct":
            assert MessageShortLinkClick.objects.filter(short_link__link_id=link_id).count() == 2

    def test_the_play_store_keeps_its_own_query(self, owner: Any, door: str) -> None:
        link_id = routed_link(owner, rules=STORE_RULES)
        _, query = location(tap(owner, door, link_id, ANDROID))
        assert query["id"] == ["com.example.app"] and len(query["click_id"]) == 1

    def test_ios_includes_ipados(self, owner: Any, door: str) -> None:
        link_id = routed_link(owner, rules=STORE_RULES)
        target, _ = location(tap(owner, door, link_id, IPAD))
        assert target == APP_STORE

    def test_a_tap_no_rule_matches_goes_to_the_destination_with_traits_stored(
        self, owner: Any, door: str
    ) -> None:
        link_id = routed_link(owner, rules=STORE_RULES)
        target, query = location(tap(owner, door, link_id, DESKTOP))
        assert target == "https://adv.example.com/land"
        traits = traits_of(the_click(query["click_id"][0]))
        assert traits is not None and traits.device == "desktop"

    def test_a_country_rule_tells_a_british_address_from_an_american_one(
        self, owner: Any, door: str
    ) -> None:
        link_id = routed_link(
            owner,
            rules=[
                {"country": "GB", "url": "https://uk.example.com/"},
                {"country": "US", "url": "https://us.example.com/"},
            ],
        )
        gb, query = location(tap(owner, door, link_id, DESKTOP, ip=GB_IP))
        assert gb == "https://uk.example.com/"
        assert traits_of(the_click(query["click_id"][0])).country == "GB"  # type: ignore[union-attr]
        us, query = location(tap(owner, door, link_id, DESKTOP, ip=US_IP))
        assert us == "https://us.example.com/"
        assert traits_of(the_click(query["click_id"][0])).country == "US"  # type: ignore[union-attr]

    def test_a_language_rule_takes_the_highest_weighted_tag(self, owner: Any, door: str) -> None:
        link_id = routed_link(owner, rules=[{"language": "es", "url": "https://es.example.com/"}])
        spanish = "en;q=0.5, es-MX;q=0.9, fr;q=0.1"
        target, _ = location(tap(owner, door, link_id, DESKTOP, HTTP_ACCEPT_LANGUAGE=spanish))
        assert target == "https://es.example.com/"
        english = "es;q=0.4, en-GB"
        target, _ = location(tap(owner, door, link_id, DESKTOP, HTTP_ACCEPT_LANGUAGE=english))
        assert target == "https://adv.example.com/land"

    def test_every_condition_of_a_rule_must_hold_and_the_first_match_wins(
        self, owner: Any, door: str
    ) -> None:
        link_id = routed_link(
            owner,
            rules=[
                {"device": "ios", "country": "GB", "url": "https://ios-gb.example.com/"},
                {"device": "mobile", "url": "https://mobile.example.com/"},
                {"device": "ios", "url": "https://never.example.com/"},
            ],
        )
        assert location(tap(owner, door, link_id, IPHONE, ip=GB_IP))[0] == (
            "https://ios-gb.example.com/"
        )
        assert location(tap(owner, door, link_id, IPHONE, ip=US_IP))[0] == (
            "https://mobile.example.com/"
        )

    def test_macros_apply_to_a_rules_target(self, owner: Any, door: str) -> None:
        link_id = routed_link(
            owner, rules=[{"device": "ios", "url": "https://apps.apple.com/x?ct={click_id}"}]
        )
        target, query = location(tap(owner, door, link_id, IPHONE))
        assert target == "https://apps.apple.com/x"
        [click_id] = query["ct"]
        assert "click_id" not in query
        assert the_click(click_id).click_id == click_id


@pytest.mark.django_db
class TestTheCommonPathStaysFree:
    @pytest.mark.parametrize("client_class", [Client, FrontClient])
    def test_without_rules_no_traits_are_worked_out_in_the_redirect(
        self, owner: Any, click_stream: Any, monkeypatch: Any, client_class: type[Client]
    ) -> None:
        link_id = routed_link(
            owner,
            variants=[
                {"name": "a", "url": "https://a.example.com/", "weight": 1},
                {"name": "b", "url": "https://b.example.com/", "weight": 1},
            ],
        )
        owner.account.utm_template = "utm_source=sms&utm_campaign={campaign}"
        owner.account.save()

        def refuse(*args: Any) -> Any:
            raise AssertionError("traits worked out for a link without rules")

        monkeypatch.setattr(redirect_module, "click_traits", refuse)
        for _ in range(2):  # cold, then warm (the front door answers the second)
            response = client_class(HTTP_HOST=owner.domain.host).get(
                f"/{link_id}", HTTP_USER_AGENT=IPHONE
            )
            assert response.status_code == 302
            assert "utm_source=sms" in response["Location"]

    @pytest.mark.parametrize("client_class", [Client, FrontClient])
    def test_a_cached_link_with_variants_and_utm_is_one_redis_round_trip_and_no_sql(
        self, owner: Any, click_stream: Any, client_class: type[Client]
    ) -> None:
        link_id = routed_link(
            owner, variants=[{"name": "a", "url": "https://a.example.com/", "weight": 1}]
        )
        owner.account.utm_template = "utm_source=sms"
        owner.account.save()
        client = client_class(HTTP_HOST=owner.domain.host)
        client.get(f"/{link_id}")  # warms the caches
        redis_conn.round_trip((("PING",),))
        round_trips = redis_conn.round_trips()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/{link_id}")
        assert response["Location"].startswith("https://a.example.com/?click_id=")
        assert queries.captured_queries == []
        assert redis_conn.round_trips() - round_trips == 1


class TestLanguage:
    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            ("", ""),
            ("es", "es"),
            ("es-MX,es;q=0.9,en;q=0.8", "es"),
            ("en;q=0.5, pt-BR;q=0.9", "pt"),
            ("fr;q=0.9, DE;q=0.9", "fr"),  # equals: the first
            ("*;q=1, it;q=0.2", "it"),
            ("en;q=0, nl;q=0.1", "nl"),
            ("en;q=0", ""),
            ("zh-Hant-TW;q=0.8, ja;q=bad", "zh"),
        ],
    )
    def test_it_is_the_primary_subtag_of_the_highest_weighted_tag(
        self, header: str, expected: str
    ) -> None:
        assert language_of(header) == expected


def test_a_rule_without_conditions_matches_every_click() -> None:
    traits = ClickTraits("desktop", "Windows", "Chrome", None, "")
    rule = Rule(url="https://all.example.com/")
    assert rule_match((Rule(url="https://x/", country="US"), rule), traits, "") is rule


@pytest.mark.django_db
class TestRulesInput:
    def post(self, owner: Any, **fields: Any) -> Any:
        return owner.post(
            "/api/v1/offers",
            {"name": "Routed", "destination_url": "https://adv.example.com/", **fields},
        )

    def test_valid_rules_are_stored_and_answered(self, owner: Any) -> None:
        rules = [
            {"device": "ios", "url": "https://apps.apple.com/a?c={click_id}"},
            {"country": "GB", "language": "en", "url": "https://uk.example.com/"},
        ]
        response = self.post(owner, rules=rules)
        assert response.status_code == 201, response.content
        assert response.json()["rules"] == rules
        assert Offer.objects.get(pk=response.json()["id"]).rules == rules

    @pytest.mark.parametrize(
        ("rules", "says"),
        [
            ({"device": "ios"}, "must be a list"),
            ([{"device": "ios"}], "url required"),
            ([{"device": "windows", "url": "https://x.example/"}], "device: must be one of"),
            ([{"country": "gb", "url": "https://x.example/"}], "country"),
            ([{"language": "es-MX", "url": "https://x.example/"}], "language"),
            ([{"url": "ftp://x.example/"}], "http or https"),
            ([{"url": "https://x.example/a b"}], "spaces"),
            ([{"os": "iOS", "url": "https://x.example/"}], "unknown key(s) 'os'"),
            (["https://x.example/"], "must be an object"),
            ([{"url": "https://x.example/"}] * 51, "at most 50"),
        ],
    )
    def test_bad_rules_are_a_400_naming_the_field(self, owner: Any, rules: Any, says: str) -> None:
        response = self.post(owner, rules=rules)
        assert response.status_code == 400
        [message] = response.json()["errors"]["rules"]
        assert says in message
        assert not Offer.objects.filter(name="Routed").exists()
