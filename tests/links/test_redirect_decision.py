"""The redirect's one decision (links.decision.decide): its rules from plain values, and a
swap of it that both doors follow (the front door through trackly.wsgi, and Django's view).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from core import redis_conn
from core.models import Offer
from links import decision
from links.click_writer import ClickConsumer
from links.decision import Answer, Kind, decide
from links.domains import DomainInfo
from links.models import MessageShortLinkClick
from links.resolve import Interstitial, LinkInfo
from tests.links.test_redirect_front import mint, warm, wsgi_call
from trackly import wsgi

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)
CLICK_ID = "AbCdEfGh12345678"
DOMAIN = DomainInfo(
    id=1,
    account_id=10,
    host="go.brand.example",
    fallback_url="",
    require_postback_token=False,
    postback_token_hash="",
)
LINK = LinkInfo(
    pk=5,
    link_id="Ab3xK9q",
    account_id=10,
    message_id=20,
    contact_id=30,
    offer_id=None,
    campaign_id=None,
    creative_id=None,
    destination_template="https://shop.example/p?a=1",
    click_param="click_id",
    offer_status=None,
    offer_expires_at=None,
    offer_fallback_url="",
    bot_detection_enabled=True,
    interstitial=None,
)
OFFER_LINK = dataclasses.replace(
    LINK,
    offer_id=40,
    destination_template="https://adv.example/land?o={offer_id}",
    click_param="sub1",
    offer_status=Offer.Status.ACTIVE.value,
    offer_fallback_url="https://adv.example/ended",
)


def answer(
    link: LinkInfo | None = LINK,
    domain: DomainInfo | None = DOMAIN,
    method: str = "GET",
    link_id: str = "Ab3xK9q",
) -> Answer:
    return decide(
        method=method, link_id=link_id, link=link, domain=domain, now=NOW, click_id=CLICK_ID
    )


class TestDecide:
    @pytest.mark.parametrize("method", ["GET", "HEAD"])
    def test_a_live_link_redirects_with_the_click_id_and_records_the_click(
        self, method: str
    ) -> None:
        assert answer(method=method) == Answer(
            Kind.REDIRECT,
            records_click=True,
            location=f"https://shop.example/p?a=1&click_id={CLICK_ID}",
        )

    def test_an_offers_link_fills_its_macros_and_click_parameter(self) -> None:
        location = answer(OFFER_LINK).location
        assert parse_qs(urlsplit(location).query) == {"o": ["40"], "sub1": [CLICK_ID]}

    @pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS", None])
    def test_another_method_is_405_and_no_click(self, method: str | None) -> None:
        assert answer(method=method) == Answer(Kind.METHOD_NOT_ALLOWED)

    @pytest.mark.parametrize("link_id", ["", "Ab3xK9q/more", "a/b"])
    def test_a_path_that_is_no_short_link_is_unknown_whatever_the_method(
        self, link_id: str
    ) -> None:
        assert answer(None, method="POST", link_id=link_id) == Answer(Kind.NOT_FOUND)

    def test_an_unknown_link_is_a_404_and_no_click(self) -> None:
        assert answer(None) == Answer(Kind.NOT_FOUND)

    def test_an_unknown_link_goes_to_the_domains_fallback_without_a_click(self) -> None:
        domain = dataclasses.replace(DOMAIN, fallback_url="https://brand.example/")
        assert answer(None, domain) == Answer(Kind.FALLBACK, location="https://brand.example/")

    def test_another_accounts_link_is_unknown(self) -> None:
        assert answer(dataclasses.replace(LINK, account_id=11)) == Answer(Kind.NOT_FOUND)

    def test_no_tracking_domain_is_a_plain_404(self) -> None:
        assert answer(domain=None) == Answer(Kind.NO_SUCH_HOST)

    @pytest.mark.parametrize(
        "ended",
        [
            {"offer_status": Offer.Status.PAUSED.value},
            {"offer_status": Offer.Status.EXPIRED.value},
            {"offer_expires_at": NOW},
        ],
    )
    def test_an_ended_offer_goes_to_its_fallback_and_still_records(self, ended: dict) -> None:
        link = dataclasses.replace(OFFER_LINK, **ended)
        assert answer(link) == Answer(
            Kind.FALLBACK, records_click=True, location="https://adv.example/ended"
        )

    def test_an_offer_expiring_after_now_is_live(self) -> None:
        link = dataclasses.replace(OFFER_LINK, offer_expires_at=NOW + dt.timedelta(seconds=1))
        assert answer(link).kind is Kind.REDIRECT

    def test_an_ended_offer_without_its_own_fallback_uses_the_domains_else_a_410(self) -> None:
        link = dataclasses.replace(
            OFFER_LINK, offer_status=Offer.Status.PAUSED.value, offer_fallback_url=""
        )
        assert answer(link) == Answer(Kind.OFFER_ENDED, records_click=True)
        domain = dataclasses.replace(DOMAIN, fallback_url="https://brand.example/")
        assert answer(link, domain).location == "https://brand.example/"

    def test_an_interstitial_shows_its_page_with_the_destination_behind_its_button(
        self,
    ) -> None:
        page = Interstitial("Deal", "Today only", "Go", "", "", "")
        assert answer(dataclasses.replace(LINK, interstitial=page)) == Answer(
            Kind.INTERSTITIAL,
            records_click=True,
            location=f"https://shop.example/p?a=1&click_id={CLICK_ID}",
            interstitial=page,
        )

    def test_fallbacks_are_given_as_uris(self) -> None:
        domain = dataclasses.replace(DOMAIN, fallback_url="https://例え.jp/パス")
        assert answer(None, domain).location == "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9"

    def test_only_a_get_or_head_of_a_well_formed_id_needs_the_link(self) -> None:
        assert decision.wants_link("GET", "Ab3xK9q") and decision.wants_link("HEAD", "Ab3xK9q")
        assert not decision.wants_link("POST", "Ab3xK9q")
        assert not decision.wants_link("GET", "Ab3xK9")
        assert not decision.wants_link("GET", "Ab3xK9q/")


SWAPPED = "https://swapped.example/go"


def swap(monkeypatch: Any, rule: Any) -> list[Answer]:
    """Replace the decision by `rule(the real answer, arguments)`; return what it answered."""
    real, answered = decision.decide, []

    def swapped(**arguments: Any) -> Answer:
        result = rule(real(**arguments), arguments)
        answered.append(result)
        return result

    monkeypatch.setattr(decision, "decide", swapped)
    return answered


def every_redirect_swapped(real: Answer, arguments: dict[str, Any]) -> Answer:
    if real.kind is not Kind.REDIRECT:
        return real
    return dataclasses.replace(real, location=f"{SWAPPED}?c={arguments['click_id']}")


def every_offer_ended(real: Answer, arguments: dict[str, Any]) -> Answer:
    if not real.records_click:
        return real
    return Answer(Kind.FALLBACK, records_click=True, location="https://ended.example/")


def stored_click_ids() -> list[str]:
    ClickConsumer(redis_conn.client()).drain()
    return list(MessageShortLinkClick.objects.order_by("id").values_list("click_id", flat=True))


@pytest.mark.django_db
class TestSwappingTheDecision:
    """Both doors follow the one decision: swap it, and each answers the swapped way."""

    def test_the_front_door_follows_a_swapped_redirect_without_django(
        self, owner: Any, click_stream: Any, monkeypatch: Any
    ) -> None:
        link_id = mint(owner)
        warm(owner, link_id)
        answered = swap(monkeypatch, every_redirect_swapped)

        def django_not_called(*args: Any) -> Any:
            raise AssertionError("Django's handler was called")

        monkeypatch.setattr(wsgi, "django_application", django_not_called)
        response = wsgi_call(owner.domain.host, f"/{link_id}")

        assert response["status"] == "302 Found"
        [click_id] = stored_click_ids()
        assert response["headers"]["Location"] == f"{SWAPPED}?c={click_id}"
        assert len(answered) == 1

    @pytest.mark.parametrize("pipeline", [False, True])
    def test_the_view_follows_a_swapped_redirect(
        self, owner: Any, monkeypatch: Any, request: Any, pipeline: bool
    ) -> None:
        if pipeline:
            request.getfixturevalue("click_stream")
        link_id = mint(owner)
        answered = swap(monkeypatch, every_redirect_swapped)

        response = Client(HTTP_HOST=owner.domain.host).get(f"/{link_id}")

        assert response.status_code == 302
        [click_id] = stored_click_ids()
        assert response["Location"] == f"{SWAPPED}?c={click_id}"
        assert [a.kind for a in answered] == [Kind.REDIRECT]

    def test_both_doors_follow_a_swap_the_front_door_leaves_to_the_view(
        self, owner: Any, click_stream: Any, monkeypatch: Any
    ) -> None:
        """Every offer ended: the front door sees a fallback (a page, not its to answer)
        and declines; the view answers the fallback and records the tap once."""
        link_id = mint(owner)
        warm(owner, link_id)
        answered = swap(monkeypatch, every_offer_ended)

        through_wsgi = wsgi_call(owner.domain.host, f"/{link_id}")
        by_view = Client(HTTP_HOST=owner.domain.host).get(f"/{link_id}")

        assert through_wsgi["status"] == "302 Found"
        assert through_wsgi["headers"]["Location"] == "https://ended.example/"
        assert (by_view.status_code, by_view["Location"]) == (302, "https://ended.example/")
        # The front door's answer, the view's after it declined, the second tap's.
        assert [a.kind for a in answered] == [Kind.FALLBACK] * 3
        assert len(stored_click_ids()) == 2  # two taps, two clicks

    def test_unswapped_the_doors_redirect_to_the_destination(
        self, owner: Any, click_stream: Any
    ) -> None:
        """The control: without the swap, the same taps go to the link's destination."""
        link_id = mint(owner)
        warm(owner, link_id)
        through_wsgi = wsgi_call(owner.domain.host, f"/{link_id}")
        by_view = Client(HTTP_HOST=owner.domain.host).get(f"/{link_id}")
        for location in (through_wsgi["headers"]["Location"], by_view["Location"]):
            assert location.startswith("https://shop.example/p?a=1&click_id=")
