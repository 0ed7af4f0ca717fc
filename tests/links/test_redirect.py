from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core import bounds, redis_conn
from core.models import InterstitialTemplate, Offer, SendingList
from links import ids, resolve
from links.click_writer import ClickConsumer
from links.domains import tracking_domain_by_host
from links.models import MessageClick, MessageShortLinkClick
from tests.helpers import FrontClient, make_offer

BROWSER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


# Which door tap() knocks on; TestRedirect runs every case through each.
DOOR: dict[str, Any] = {"client": Client, "warm": False}


def tap(account: Any, link_id: str, *, method: str = "get", ua: str = BROWSER, **extra: Any) -> Any:
    """One request to a short link; with the click pipeline on, the click is then
    consumed from the stream, so either way it is in the database on return."""
    client = DOOR["client"](HTTP_HOST=account.domain.host)
    if DOOR["warm"]:
        # As after an earlier click: domain and link in this process's cache, so the
        # front door has what it needs.
        tracking_domain_by_host(account.domain.host)
        resolve.link_info(link_id)
    response = getattr(client, method)(f"/{link_id}", HTTP_USER_AGENT=ua, **extra)
    if django_settings.CLICK_STREAM:
        ClickConsumer(redis_conn.client()).drain()
    return response


def mint_link(account: Any, url: str = "https://shop.example.com/p?a=1", **fields: Any) -> dict:
    message = account.mint(body="Go {{link1}}", links={"link1": {"url": url, **fields}})
    return message["links"][0]


@pytest.mark.django_db
class TestRedirect:
    @pytest.fixture(autouse=True, params=["direct", "pipeline", "front"])
    def path(self, request: Any, monkeypatch: Any) -> Any:
        """Every behaviour holds whether the click is written in the request or goes
        through the Redis Stream and the consumer, and whether Django's view answers
        or the front door (trackly.wsgi) does."""
        if request.param in ("pipeline", "front"):
            request.getfixturevalue("click_stream")
        if request.param == "front":
            monkeypatch.setitem(DOOR, "client", FrontClient)
            monkeypatch.setitem(DOOR, "warm", True)

    def test_it_redirects_with_the_click_id_and_no_store(self, owner: Any) -> None:
        link = mint_link(owner)
        response = tap(owner, link["link_id"])
        assert response.status_code == 302
        assert response["Cache-Control"] == "no-store"
        assert not response.cookies
        click = MessageShortLinkClick.objects.get()
        assert ids.is_click_id(click.click_id)  # 16 letters or digits, as postbacks check
        # The id carries the click's time to the second (a lookup by id bounds its time).
        assert ids.click_id_time(click.click_id) == click.clicked_at.replace(microsecond=0)
        location = urlsplit(response["Location"])
        assert location.netloc == "shop.example.com"
        assert parse_qs(location.query) == {"a": ["1"], "click_id": [click.click_id]}

    def test_its_answer_is_not_sniffed_and_leaks_no_path_to_the_destination(
        self, owner: Any
    ) -> None:
        response = tap(owner, mint_link(owner)["link_id"])
        assert response.status_code == 302
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"

    def test_it_records_every_detail_of_the_click(self, owner: Any) -> None:
        link = mint_link(owner)
        tap(owner, link["link_id"], HTTP_REFERER="https://r.example/", HTTP_ACCEPT_LANGUAGE="fr-FR")
        click = MessageShortLinkClick.objects.get()
        assert click.ip == "127.0.0.1"
        assert click.user_agent == BROWSER
        assert click.referer == "https://r.example/"
        assert click.accept_language == "fr-FR"
        assert click.method == "GET"
        assert click.is_bot is False and click.bot_reason == ""
        assert click.short_link.link_id == link["link_id"]

    def test_the_second_click_of_a_contact_is_raw_only(self, owner: Any) -> None:
        link = mint_link(owner)
        tap(owner, link["link_id"])
        tap(owner, link["link_id"])
        assert MessageShortLinkClick.objects.count() == 2
        first = MessageShortLinkClick.objects.order_by("clicked_at", "id").first()
        assert MessageClick.objects.get().raw_click_id == first.pk

    def test_a_bots_first_click_leaves_room_for_the_person(self, owner: Any) -> None:
        link = mint_link(owner)
        tap(owner, link["link_id"], ua=GOOGLEBOT)
        assert not MessageClick.objects.exists()
        tap(owner, link["link_id"])
        person = MessageShortLinkClick.objects.get(is_bot=False)
        assert MessageClick.objects.get().raw_click_id == person.pk
        assert MessageShortLinkClick.objects.get(is_bot=True).bot_reason == "ua:crawler:googlebot"

    def test_with_bot_detection_off_the_first_click_counts_whatever_its_verdict(
        self, owner: Any
    ) -> None:
        SendingList.objects.create(account=owner.account, name="Raw", bot_detection_enabled=False)
        message = owner.mint(
            body="Go {{link1}}", list="Raw", links={"link1": {"url": "https://a.example/"}}
        )
        tap(owner, message["links"][0]["link_id"], ua=GOOGLEBOT)
        assert MessageClick.objects.get().raw_click.is_bot is True

    def test_head_answers_like_get_without_a_body_and_counts_as_a_bot(self, owner: Any) -> None:
        link = mint_link(owner)
        response = tap(owner, link["link_id"], method="head")
        assert response.status_code == 302
        assert response["Cache-Control"] == "no-store"
        assert "click_id=" in response["Location"]
        assert response.content == b""
        click = MessageShortLinkClick.objects.get()
        assert (click.method, click.is_bot, click.bot_reason) == ("HEAD", True, "head-request")
        assert not MessageClick.objects.exists()

    @pytest.mark.parametrize(
        ("macro", "expected"),
        [
            ("link_id", lambda link, click: link.link_id),
            ("message_id", lambda link, click: str(link.message_id)),
            ("contact_id", lambda link, click: str(link.contact_id)),
            ("offer_id", lambda link, click: str(link.offer_id)),
            ("campaign_id", lambda link, click: str(link.message.campaign_id)),
            ("creative_id", lambda link, click: str(link.message.creative_id)),
            ("click_id", lambda link, click: click.click_id),
        ],
    )
    def test_each_macro_is_substituted(self, owner: Any, macro: str, expected: Any) -> None:
        offer = make_offer(owner, destination_url=f"https://adv.example.com/l?v={{{macro}}}#top")
        message = owner.mint(
            body="{{link1}}", campaign="Spring", creative="A", links={"link1": {"offer": offer.pk}}
        )
        response = tap(owner, message["links"][0]["link_id"])
        click = MessageShortLinkClick.objects.select_related("short_link__message").get()
        query = parse_qs(urlsplit(response["Location"]).query)
        assert query["v"] == [expected(click.short_link, click)]
        assert response["Location"].endswith("#top")
        # The click id rides in its macro, or else in the click parameter, never both.
        assert ("click_id" in query) == (macro != "click_id")

    def test_macro_values_are_url_encoded(self, owner: Any) -> None:
        offer = make_offer(owner, destination_url="https://adv.example.com/{link_id}/x")
        message = owner.mint(body="{{link1}}", links={"link1": {"offer": offer.pk}})
        response = tap(owner, message["links"][0]["link_id"])
        assert urlsplit(response["Location"]).path == f"/{message['links'][0]['link_id']}/x"

    def test_the_click_parameter_keeps_query_and_fragment(self, owner: Any) -> None:
        offer = make_offer(
            owner,
            destination_url="https://adv.example.com/l?utm=sms&x=a%20b#frag",
            click_param="sub1",
        )
        message = owner.mint(body="{{link1}}", links={"link1": {"offer": offer.pk}})
        response = tap(owner, message["links"][0]["link_id"])
        click = MessageShortLinkClick.objects.get()
        assert response["Location"] == (
            f"https://adv.example.com/l?utm=sms&x=a%20b&sub1={click.click_id}#frag"
        )

    @pytest.mark.parametrize("link_id", ["zzzzzzz", "short", "toolong12", "bad!id_"])
    def test_unknown_and_malformed_ids_get_a_404_page_and_no_click(
        self, owner: Any, link_id: str
    ) -> None:
        response = tap(owner, link_id)
        assert response.status_code == 404
        assert b"Link not found" in response.content
        assert not MessageShortLinkClick.objects.exists()

    def test_a_request_past_64_kb_is_a_413_page_and_records_no_click(self, owner: Any) -> None:
        link = mint_link(owner)
        pad = "pad=" + "x" * bounds.MAX_TRACKING_REQUEST_BYTES
        response = tap(owner, link["link_id"], QUERY_STRING=pad)
        assert response.status_code == 413
        assert b"Request too large" in response.content and b"64 KB" in response.content
        assert not MessageShortLinkClick.objects.exists()
        body = tap(
            owner, link["link_id"], CONTENT_LENGTH=str(bounds.MAX_TRACKING_REQUEST_BYTES + 1)
        )
        assert body.status_code == 413
        just_fits = "pad=" + "x" * (bounds.MAX_TRACKING_REQUEST_BYTES - 4)
        assert tap(owner, link["link_id"], QUERY_STRING=just_fits).status_code == 302

    def test_unknown_ids_go_to_the_domains_fallback_when_it_has_one(self, owner: Any) -> None:
        owner.domain.fallback_url = "https://brand.example/"
        owner.domain.save()
        response = tap(owner, "zzzzzzz")
        assert (response.status_code, response["Location"]) == (302, "https://brand.example/")
        assert not MessageShortLinkClick.objects.exists()

    def test_another_accounts_link_on_this_host_is_unknown(self, owner: Any, outsider: Any) -> None:
        link = mint_link(outsider)
        response = tap(owner, link["link_id"])
        assert response.status_code == 404
        assert not MessageShortLinkClick.objects.exists()

    def test_an_unknown_host_gets_a_plain_404(self, owner: Any) -> None:
        link = mint_link(owner)
        response = Client(HTTP_HOST="nobody.example").get(f"/{link['link_id']}")
        assert response.status_code == 404
        assert response["Content-Type"].startswith("text/plain")
        assert not MessageShortLinkClick.objects.exists()

    def test_the_host_matches_without_port_and_case(self, owner: Any) -> None:
        link = mint_link(owner)
        response = Client(HTTP_HOST="GO.OWNER.EXAMPLE:8443").get(f"/{link['link_id']}")
        assert response.status_code == 302

    @pytest.mark.parametrize("status", [Offer.Status.PAUSED, Offer.Status.EXPIRED])
    def test_a_paused_or_expired_offer_goes_to_its_fallback_and_still_records(
        self, owner: Any, status: str
    ) -> None:
        offer = make_offer(owner, fallback_url="https://adv.example.com/ended")
        message = owner.mint(body="{{link1}}", links={"link1": {"offer": offer.pk}})
        offer.status = status
        offer.save()
        response = tap(owner, message["links"][0]["link_id"])
        assert (response.status_code, response["Location"]) == (
            302,
            "https://adv.example.com/ended",
        )
        assert MessageShortLinkClick.objects.count() == 1

    def test_a_paused_offer_without_fallback_uses_the_domains(self, owner: Any) -> None:
        owner.domain.fallback_url = "https://brand.example/"
        owner.domain.save()
        offer = make_offer(owner)
        message = owner.mint(body="{{link1}}", links={"link1": {"offer": offer.pk}})
        offer.status = Offer.Status.PAUSED
        offer.save()
        response = tap(owner, message["links"][0]["link_id"])
        assert response["Location"] == "https://brand.example/"

    def test_trusted_proxies_decide_which_forwarded_address_is_the_client(
        self, owner: Any, settings: Any
    ) -> None:
        link = mint_link(owner)
        forwarded = {"HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9, 10.0.0.2"}
        tap(owner, link["link_id"], **forwarded)
        settings.TRUSTED_PROXY_COUNT = 2
        tap(owner, link["link_id"], **forwarded)
        ips = list(MessageShortLinkClick.objects.order_by("id").values_list("ip", flat=True))
        assert ips == ["127.0.0.1", "203.0.113.9"]


@pytest.mark.django_db
class TestInterstitials:
    def template(self, account: Any, **fields: Any) -> InterstitialTemplate:
        defaults = {"name": "T", "title": "Deal", "description": "Today only", "cta_text": "Go"}
        return InterstitialTemplate.objects.create(account=account.account, **(defaults | fields))

    def test_custom_mode_shows_the_offers_template_with_a_tracked_button(self, owner: Any) -> None:
        template = self.template(owner, og_image="https://cdn.brand.example/i.png")
        offer = make_offer(owner, interstitial_mode="custom", interstitial_template=template)
        message = owner.mint(body="{{link1}}", links={"link1": {"offer": offer.pk}})
        response = tap(owner, message["links"][0]["link_id"])
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"
        html = response.content.decode()
        click = MessageShortLinkClick.objects.get()
        for needle in [
            "<title>Deal</title>",
            '<meta name="description" content="Today only">',
            '<meta property="og:title" content="Deal">',
            '<meta property="og:description" content="Today only">',
            '<meta property="og:image" content="https://cdn.brand.example/i.png">',
            'name="twitter:card"',
            "noindex",
            f'href="https://adv.example.com/land?click_id={click.click_id}"',
        ]:
            assert needle in html
        assert "http://" not in html.replace('content="https://cdn.brand.example/i.png"', "")

    def test_no_other_site_can_frame_the_interstitial(self, owner: Any) -> None:
        offer = make_offer(
            owner, interstitial_mode="custom", interstitial_template=self.template(owner)
        )
        message = owner.mint(body="{{link1}}", links={"link1": {"offer": offer.pk}})
        response = tap(owner, message["links"][0]["link_id"])
        assert response.status_code == 200
        assert response["Content-Security-Policy"] == "frame-ancestors 'none'"
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"

    def test_list_default_mode_uses_the_lists_template(self, owner: Any) -> None:
        template = self.template(owner, title="List page")
        SendingList.objects.create(account=owner.account, name="VIP", default_interstitial=template)
        offer = make_offer(owner, interstitial_mode="list_default")
        message = owner.mint(body="{{link1}}", list="VIP", links={"link1": {"offer": offer.pk}})
        response = tap(owner, message["links"][0]["link_id"])
        assert response.status_code == 200
        assert b"<title>List page</title>" in response.content

    def test_list_default_mode_without_a_template_redirects(self, owner: Any) -> None:
        SendingList.objects.create(account=owner.account, name="Plain")
        offer = make_offer(owner, interstitial_mode="list_default")
        message = owner.mint(body="{{link1}}", list="Plain", links={"link1": {"offer": offer.pk}})
        assert tap(owner, message["links"][0]["link_id"]).status_code == 302

    def test_none_mode_redirects(self, owner: Any) -> None:
        offer = make_offer(owner, interstitial_mode="none")
        message = owner.mint(body="{{link1}}", links={"link1": {"offer": offer.pk}})
        assert tap(owner, message["links"][0]["link_id"]).status_code == 302

    def test_a_template_cannot_inject_script(self, owner: Any) -> None:
        evil = '"><script>alert(1)</script>'
        template = self.template(
            owner, title=evil, description=evil, cta_text=evil, og_title=evil, og_description=evil
        )
        offer = make_offer(owner, interstitial_mode="custom", interstitial_template=template)
        message = owner.mint(body="{{link1}}", links={"link1": {"offer": offer.pk}})
        html = tap(owner, message["links"][0]["link_id"]).content.decode()
        assert "<script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    def test_changing_an_offer_reaches_a_cached_link(self, owner: Any) -> None:
        offer = make_offer(owner)
        message = owner.mint(body="{{link1}}", links={"link1": {"offer": offer.pk}})
        link_id = message["links"][0]["link_id"]
        assert tap(owner, link_id).status_code == 302  # now cached
        offer.interstitial_mode = "custom"
        offer.interstitial_template = self.template(owner)
        offer.save()
        assert tap(owner, link_id).status_code == 200


def count_redis(monkeypatch: Any) -> list[str]:
    """Every Redis round trip from now on: a command, or a pipeline as PIPELINE(cmds)."""
    import redis

    calls: list[str] = []
    command, pipeline = redis.Redis.execute_command, redis.client.Pipeline.execute

    def counting_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(str(args[0]))
        return command(self, *args, **kwargs)

    def counting_pipeline(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(f"PIPELINE({','.join(str(c[0][0]) for c in self.command_stack)})")
        return pipeline(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", counting_command)
    monkeypatch.setattr(redis.client.Pipeline, "execute", counting_pipeline)
    return calls


@pytest.mark.django_db
class TestRedirectCost:
    """The redirect's cost is deliberate: these numbers change only on purpose."""

    @pytest.mark.parametrize("client_class", [Client, FrontClient])
    def test_with_the_pipeline_a_redirect_is_one_redis_round_trip_and_no_sql(
        self, owner: Any, monkeypatch: Any, click_stream: Any, client_class: type[Client]
    ) -> None:
        link = mint_link(owner)
        client_class(HTTP_HOST=owner.domain.host).get(f"/{link['link_id']}")  # warms the caches
        calls = count_redis(monkeypatch)
        redis_conn.round_trip((("PING",),))  # this thread's bare connection is open
        round_trips = redis_conn.round_trips()
        with CaptureQueriesContext(connection) as queries:
            response = client_class(HTTP_HOST=owner.domain.host).get(f"/{link['link_id']}")
        assert response.status_code == 302
        assert queries.captured_queries == []
        # One round trip on the bare connection: the config version (is this process's
        # link cache current?) and the click. Nothing through redis-py.
        assert redis_conn.round_trips() - round_trips == 1
        assert calls == []

    def test_without_the_pipeline_a_cached_redirect_costs_two_inserts(
        self, owner: Any, monkeypatch: Any
    ) -> None:
        link = mint_link(owner)
        tap(owner, link["link_id"])  # warms the domain and link cache
        calls = count_redis(monkeypatch)
        with CaptureQueriesContext(connection) as queries:
            assert tap(owner, link["link_id"]).status_code == 302
        statements = [q["sql"].split()[0] for q in queries.captured_queries]
        # The raw click, and the MessageClick attempt that the unique constraint turns away.
        assert statements == ["INSERT", "INSERT"]
        assert calls == []  # domain and link from this process's cache

    def test_a_cold_redirect_adds_one_select_per_lookup_and_one_set_each(
        self, owner: Any, monkeypatch: Any
    ) -> None:
        link = mint_link(owner)
        from django.core.cache import cache

        cache.clear()
        resolve.local.clear()
        calls = count_redis(monkeypatch)
        redis_conn.round_trip((("PING",),))  # this thread's bare connection is open
        round_trips = redis_conn.round_trips()
        with CaptureQueriesContext(connection) as queries:
            assert tap(owner, link["link_id"]).status_code == 302
        statements = [q["sql"].split()[0] for q in queries.captured_queries]
        # domain SELECT, raw click INSERT, MessageClick INSERT ... ON CONFLICT; the link is
        # one prepared statement (core.prepared), which Django's capture does not see.
        assert statements == ["SELECT", "INSERT", "INSERT"]
        # Domain and link: an MGET (entry and version) and a SET each, on the bare connection.
        assert redis_conn.round_trips() - round_trips == 4
        assert calls == []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                ["%FROM links_messageshortlink l%"],
            )
            assert cursor.fetchone()[0] == 1

    def test_another_process_sees_a_change_within_a_second(
        self, owner: Any, monkeypatch: Any
    ) -> None:
        """Another web process bumped the version: this one's copy expires after
        LOCAL_TRUST_SECONDS and the next lookup goes to Redis."""
        link = mint_link(owner)
        tap(owner, link["link_id"])
        resolve.cache.incr(resolve.CONFIG_VERSION_KEY)  # as another process would
        resolve.local.confirmed -= resolve.LOCAL_TRUST_SECONDS + 0.01  # a second later
        round_trips = redis_conn.round_trips()
        assert tap(owner, link["link_id"]).status_code == 302
        # Domain and link: each read again (MGET), found stale and stored anew (SET).
        assert redis_conn.round_trips() - round_trips == 4


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_taps_make_exactly_one_message_click(make_account: Any) -> None:
    account = make_account()
    link = mint_link(account)
    barrier = threading.Barrier(50)
    statuses: list[int] = []

    def tap_once() -> None:
        try:
            barrier.wait()
            statuses.append(tap(account, link["link_id"]).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=tap_once) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [302] * 50
    assert MessageShortLinkClick.objects.count() == 50
    assert MessageClick.objects.count() == 1


@pytest.mark.django_db
def test_the_message_api_shows_its_clicks(owner: Any) -> None:
    message = owner.mint(
        body="{{link1}} {{link2}}",
        links={"link1": {"url": "https://a.example/"}, "link2": {"url": "https://b.example/"}},
    )
    first, second = (link["link_id"] for link in message["links"])
    before = owner.get(f"/api/v1/messages/{message['id']}").json()
    assert (before["clicked"], before["raw_clicks"], before["first_click_at"]) == (False, 0, None)
    tap(owner, first, ua=GOOGLEBOT)
    tap(owner, first)
    tap(owner, second)
    after = owner.get(f"/api/v1/messages/{message['id']}").json()
    assert after["clicked"] is True
    assert (after["raw_clicks"], after["bot_clicks"]) == (3, 1)
    assert after["first_click_at"] == MessageClick.objects.get().clicked_at.isoformat().replace(
        "+00:00", "Z"
    )
    assert [link["raw_clicks"] for link in after["links"]] == [2, 1]
