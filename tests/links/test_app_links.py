"""App links (links.app_links): the two /.well-known files of a tracking domain, and the
JSON tap an opened app reports (recorded like any tap, answered with where the 302 goes)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from core.models import InterstitialTemplate, Offer
from links.click_stream import ClickEvent
from links.click_writer import clicks_write
from links.models import MessageShortLinkClick
from tests.helpers import BROWSER, FrontClient, make_offer

AASA = {
    "applinks": {"details": [{"appIDs": ["ABCDE12345.com.brand.app"], "components": [{"/": "/*"}]}]}
}
ASSET_LINKS = [
    {
        "relation": ["delegate_permission/common.handle_all_urls"],
        "target": {"namespace": "android_app", "package_name": "com.brand.app"},
    }
]
APPLE = "/.well-known/apple-app-site-association"
ANDROID = "/.well-known/assetlinks.json"
APP = {"HTTP_ACCEPT": "application/json", "HTTP_USER_AGENT": BROWSER}


def link_to(account: Any, offer: Offer) -> str:
    message = account.mint(body="{{l}}", links={"l": {"offer": offer.pk}})
    return message["links"][0]["link_id"]


@pytest.mark.django_db
class TestWellKnown:
    def test_the_stored_json_with_no_redirect(self, owner: Any) -> None:
        owner.domain.apple_app_site_association = AASA
        owner.domain.android_asset_links = ASSET_LINKS
        owner.domain.save()
        host = Client(HTTP_HOST="go.owner.example")
        for path, value in ((APPLE, AASA), (ANDROID, ASSET_LINKS)):
            response = host.get(path)
            assert response.status_code == 200
            assert response["Content-Type"] == "application/json"
            assert response.json() == value
        assert host.head(APPLE).status_code == 200

    def test_unset_is_404_and_each_domain_serves_its_own(self, owner: Any, outsider: Any) -> None:
        outsider.domain.apple_app_site_association = AASA
        outsider.domain.save()
        assert Client(HTTP_HOST="go.owner.example").get(APPLE).status_code == 404
        assert Client(HTTP_HOST="go.owner.example").get(ANDROID).status_code == 404
        assert Client(HTTP_HOST="go.outsider.example").get(APPLE).json() == AASA
        assert Client(HTTP_HOST="go.outsider.example").get(ANDROID).status_code == 404

    def test_not_on_an_unknown_host(self, owner: Any) -> None:
        owner.domain.apple_app_site_association = AASA
        owner.domain.save()
        assert Client(HTTP_HOST="go.unknown.example").get(APPLE).status_code == 404


@pytest.mark.django_db
class TestJsonTap:
    def test_recorded_and_answered_with_the_302s_destination(self, owner: Any) -> None:
        link_id = link_to(owner, make_offer(owner))
        response = FrontClient(HTTP_HOST="go.owner.example").get(f"/{link_id}", **APP)
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        body = response.json()
        click = MessageShortLinkClick.objects.get()
        assert body == {
            "destination": f"https://adv.example.com/land?click_id={click.click_id}",
            "click_id": click.click_id,
        }
        assert click.short_link.link_id == link_id
        # A browser's tap of the same link still gets the 302.
        browser = FrontClient(HTTP_HOST="go.owner.example").get(
            f"/{link_id}", HTTP_ACCEPT="text/html,application/json", HTTP_USER_AGENT=BROWSER
        )
        assert browser.status_code == 302
        assert MessageShortLinkClick.objects.count() == 2

    def test_the_front_door_declines_it_with_the_click_pipeline_on(
        self, owner: Any, click_stream: Any, settings: Any
    ) -> None:
        link_id = link_to(owner, make_offer(owner))
        client = FrontClient(HTTP_HOST="go.owner.example")
        client.get(f"/{link_id}", HTTP_USER_AGENT=BROWSER)  # the view caches the domain
        response = client.get(f"/{link_id}", **APP)
        assert response.status_code == 200
        click_id = response.json()["click_id"]
        entries = click_stream.xrange(settings.CLICK_STREAM_KEY)
        assert click_id.encode() in entries[-1][1].values()
        query = parse_qs(urlsplit(response.json()["destination"]).query)
        assert query["click_id"] == [click_id]

    def test_an_interstitial_offer_answers_its_target_not_the_page(self, owner: Any) -> None:
        template = InterstitialTemplate.objects.create(
            account=owner.account, name="T", title="Deal", cta_text="Go"
        )
        offer = make_offer(owner, interstitial_mode="custom", interstitial_template=template)
        response = Client(HTTP_HOST="go.owner.example").get(f"/{link_to(owner, offer)}", **APP)
        click = MessageShortLinkClick.objects.get()
        assert response.json() == {
            "destination": f"https://adv.example.com/land?click_id={click.click_id}",
            "click_id": click.click_id,
        }

    def test_an_ended_offer_answers_its_fallback(self, owner: Any) -> None:
        offer = make_offer(owner, fallback_url="https://adv.example.com/ended")
        link_id = link_to(owner, offer)
        offer.status = Offer.Status.PAUSED
        offer.save()
        response = Client(HTTP_HOST="go.owner.example").get(f"/{link_id}", **APP)
        click = MessageShortLinkClick.objects.get()
        assert response.json() == {
            "destination": "https://adv.example.com/ended",
            "click_id": click.click_id,
        }

    def test_an_unknown_link_is_404_and_records_nothing(self, owner: Any) -> None:
        owner.domain.fallback_url = "https://brand.example/"
        owner.domain.save()
        for link_id in ("aaaaaaaaaa", "not/a/link"):
            response = Client(HTTP_HOST="go.owner.example").get(f"/{link_id}", **APP)
            assert response.status_code == 404
            assert response.json() == {"error": "unknown link"}
        assert not MessageShortLinkClick.objects.exists()

    def test_json_must_be_listed_first(self, owner: Any) -> None:
        link_id = link_to(owner, make_offer(owner))
        response = Client(HTTP_HOST="go.owner.example").get(
            f"/{link_id}", HTTP_ACCEPT="application/json; q=1.0, */*"
        )
        assert response.status_code == 200
        later = Client(HTTP_HOST="go.owner.example").get(
            f"/{link_id}", HTTP_ACCEPT="*/*, application/json"
        )
        assert later.status_code == 302


# An app's own HTTP client: iOS's URLSession default and Android's okhttp.
APP_AGENTS = ("BrandApp/4.2 CFNetwork/1410.0.3 Darwin/22.6.0", "okhttp/4.12.0")


@pytest.mark.django_db
class TestAppReportVerdict:
    """A JSON tap is the app reporting a person's tap: its HTTP client's agent is no
    browser's by design, so the program rules (ua:not-a-browser, ua:http-library) do not
    make it a bot; the same agent tapping as a browser would is still one."""

    @pytest.mark.parametrize("agent", APP_AGENTS)
    def test_the_direct_write_counts_the_apps_report(self, owner: Any, agent: str) -> None:
        link_id = link_to(owner, make_offer(owner))
        client = Client(HTTP_HOST="go.owner.example")
        reported = client.get(f"/{link_id}", HTTP_ACCEPT="application/json", HTTP_USER_AGENT=agent)
        plain = client.get(f"/{link_id}", HTTP_USER_AGENT=agent)
        assert reported.status_code == 200 and plain.status_code == 302
        app_click = MessageShortLinkClick.objects.get(click_id=reported.json()["click_id"])
        assert (app_click.is_bot, app_click.bot_reason) == (False, "")
        program = MessageShortLinkClick.objects.exclude(pk=app_click.pk).get()
        assert program.is_bot and program.bot_reason.startswith(("ua:not-a-browser", "ua:http"))
        assert app_click.message_click is not None  # the counted click

    def test_through_the_click_pipeline_too(
        self, owner: Any, click_stream: Any, settings: Any
    ) -> None:
        link_id = link_to(owner, make_offer(owner))
        response = FrontClient(HTTP_HOST="go.owner.example").get(
            f"/{link_id}", HTTP_ACCEPT="application/json", HTTP_USER_AGENT=APP_AGENTS[0]
        )
        [(_, fields)] = click_stream.xrange(settings.CLICK_STREAM_KEY)
        event = ClickEvent.from_fields(fields)
        assert event.app and event.click_id == response.json()["click_id"]
        assert clicks_write([event]) == (1, 1)
        stored = MessageShortLinkClick.objects.get(click_id=event.click_id)
        assert (stored.is_bot, stored.bot_reason) == (False, "")
