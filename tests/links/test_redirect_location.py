"""The redirect's Location is always a valid URI: IRIs are converted where destinations
enter (mint, offers, fallbacks), and rows stored before that are converted on the way out."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import idna
import pytest
from django.db import connection

from core.models import InterstitialTemplate, Offer
from links.models import MessageShortLink, MessageShortLinkClick
from tests.links.test_redirect import DOOR, FrontClient, make_offer, mint_link, tap

IRI = "https://例え.jp/パス"
URI = "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9"


def store_raw(table: str, column: str, value: str) -> None:
    """As a row from before conversion existed: the ORM would convert it."""
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {column} = %s", [value])  # noqa: S608


def as_iri(location: str) -> tuple[str, str]:
    """(host, path) of an ASCII Location, decoded back as a browser shows them."""
    parts = urlsplit(location)
    return idna.decode(parts.hostname or ""), unquote(parts.path)


@pytest.mark.django_db
class TestLocation:
    @pytest.fixture(autouse=True, params=["direct", "pipeline", "front"])
    def door(self, request: Any, monkeypatch: Any) -> None:
        if request.param in ("pipeline", "front"):
            request.getfixturevalue("click_stream")
        if request.param == "front":
            monkeypatch.setitem(DOOR, "client", FrontClient)
            monkeypatch.setitem(DOOR, "warm", True)

    def test_a_link_minted_as_an_iri_redirects_to_ascii_that_decodes_back_to_it(
        self, owner: Any
    ) -> None:
        link = mint_link(owner, IRI)
        assert link["destination"] == URI
        assert MessageShortLink.objects.get().destination_url == URI
        response = tap(owner, link["link_id"])
        assert response.status_code == 302
        location = response["Location"]
        assert location.isascii()
        assert location.startswith(f"{URI}?click_id=")
        assert as_iri(location) == ("例え.jp", "/パス")
        click = MessageShortLinkClick.objects.get()
        assert parse_qs(urlsplit(location).query) == {"click_id": [click.click_id]}

    def test_an_offer_made_with_an_iri_keeps_its_macros(self, owner: Any) -> None:
        response = owner.post(
            "/api/v1/offers",
            {"name": "Sale", "destination_url": "https://shop.example/€uro?s={click_id}"},
        )
        assert response.status_code == 201, response.content
        assert (
            response.json()["destination_url"] == "https://shop.example/%E2%82%ACuro?s={click_id}"
        )
        message = owner.mint(body="{{link1}}", links={"link1": {"offer": response.json()["id"]}})
        location = tap(owner, message["links"][0]["link_id"])["Location"]
        click = MessageShortLinkClick.objects.get()
        assert location == f"https://shop.example/%E2%82%ACuro?s={click.click_id}"

    def test_a_link_stored_as_an_iri_before_still_redirects_to_a_uri(self, owner: Any) -> None:
        link = mint_link(owner)
        store_raw("links_messageshortlink", "destination_url", IRI)
        location = tap(owner, link["link_id"])["Location"]
        assert location.isascii() and location.startswith(f"{URI}?click_id=")

    def test_a_stored_iri_whose_host_idna_refuses_still_goes_out_ascii(self, owner: Any) -> None:
        link = mint_link(owner)
        store_raw("links_messageshortlink", "destination_url", "https://😀.example/ü")
        location = tap(owner, link["link_id"])["Location"]
        assert location.startswith("https://%F0%9F%98%80.example/%C3%BC?click_id=")

    def test_fallbacks_stored_as_iris_go_out_as_uris(self, owner: Any) -> None:
        offer = make_offer(owner)
        message = owner.mint(body="{{link1}}", links={"link1": {"offer": offer.pk}})
        Offer.objects.update(status=Offer.Status.PAUSED)
        store_raw("trackly_offer", "fallback_url", "https://shop.example/fin€")
        store_raw("links_trackingdomain", "fallback_url", "https://bücher.example/")
        assert tap(owner, message["links"][0]["link_id"])["Location"] == (
            "https://shop.example/fin%E2%82%AC"
        )
        assert tap(owner, "zzzzzzz")["Location"] == "https://xn--bcher-kva.example/"


@pytest.mark.django_db
def test_the_interstitials_button_and_image_are_uris(owner: Any) -> None:
    response = owner.post(
        "/api/v1/interstitials",
        {"name": "Gate", "title": "Hi", "og_image": "https://cdn.例え.jp/画像.png"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["og_image"] == "https://cdn.xn--r8jz45g.jp/%E7%94%BB%E5%83%8F.png"
    template = InterstitialTemplate.objects.get()
    offer = make_offer(
        owner, destination_url=IRI, interstitial_mode="custom", interstitial_template=template
    )
    message = owner.mint(body="{{link1}}", links={"link1": {"offer": offer.pk}})
    html = tap(owner, message["links"][0]["link_id"]).content.decode()
    assert f'href="{URI}?click_id=' in html
    assert 'content="https://cdn.xn--r8jz45g.jp/%E7%94%BB%E5%83%8F.png"' in html
