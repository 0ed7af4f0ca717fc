"""Inputs from the code review that once crashed, leaked or misattributed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from attribution.models import Conversion, PostbackLog
from attribution.services import conversions_pending_match
from core.models import Offer
from links.models import MessageClick, MessageShortLinkClick

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"


def make_offer(account: Any, **fields: Any) -> tuple[Offer, str]:
    fields = {"name": "O", "destination_url": "https://adv.example/"} | fields
    offer = Offer(account=account.account, **fields)
    secret = offer.rotate_postback_secret()
    offer.save()
    return offer, secret


def tracking(account: Any) -> Client:
    return Client(HTTP_HOST=account.domain.host)


@pytest.mark.django_db
class TestNoCrash:
    @pytest.mark.parametrize(
        "params",
        [
            {"txn_id": "a\x00b"},
            {"event": "\x00"},
            {"ts": "0001-01-01"},
            {"ts": "99999999999"},
            {"ts": "2999-01-01T00:00:00Z"},
        ],
    )
    def test_bad_values_are_400s_and_logged(self, owner: Any, params: dict) -> None:
        message = owner.mint(body="https://a.example/")
        response = tracking(owner).get(
            "/conv",
            {"link_id": message["links"][0]["link_id"], "token": owner.postback_token, **params},
        )
        assert response.status_code == 400
        log = PostbackLog.objects.get()
        assert (log.outcome, log.http_status) == ("rejected", 400)

    def test_a_post_body_with_nul_is_logged_and_refused(self, owner: Any) -> None:
        response = tracking(owner).post(
            "/conv", "click_id=abc%00&x=\x00", content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 400
        assert "\x00" not in PostbackLog.objects.get().body

    def test_a_unicode_digit_offer_id_is_400(self, owner: Any) -> None:
        response = tracking(owner).get("/conv/offer", {"offer_id": "²", "secret": "x"})
        assert response.status_code == 400 and response.json()["field"] == "offer_id"

    def test_a_unicode_digit_filter_is_400(self, owner: Any) -> None:
        assert owner.get("/api/v1/conversions", offer="²").status_code == 400

    @pytest.mark.parametrize("method", ["head", "put", "delete"])
    def test_other_methods_are_logged_and_refused(self, owner: Any, method: str) -> None:
        response = getattr(tracking(owner), method)("/conv")
        assert response.status_code == 405 and response["Allow"] == "GET, POST"
        assert PostbackLog.objects.get().http_status == 405

    def test_a_nul_in_a_minted_message_is_a_400_naming_the_field(self, owner: Any) -> None:
        response = owner.post(
            "/api/v1/messages", {"contact": {"external_id": "c\x00"}, "body": "hi\x00"}
        )
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"contact.external_id", "body"}


@pytest.mark.django_db
def test_the_postback_secret_is_never_logged(owner: Any) -> None:
    offer, secret = make_offer(owner)
    tracking(owner).get("/conv/offer", {"offer_id": offer.pk, "secret": secret, "revenue": "1"})
    log = PostbackLog.objects.get()
    assert log.outcome == "accepted"
    assert secret not in log.query and "secret=[redacted]" in log.query


@pytest.mark.django_db
def test_a_pending_conversion_gets_the_offers_default_payout(owner: Any) -> None:
    offer, _ = make_offer(owner, default_payout=Decimal("12.5"))
    message = owner.mint(body="{{l}}", links={"l": {"offer": offer.pk}})
    tracking(owner).get("/conv", {"click_id": "D" * 16, "token": owner.postback_token})
    tracking(owner).get(f"/{message['links'][0]['link_id']}", HTTP_USER_AGENT=BROWSER)
    occurred = Conversion.objects.get().occurred_at - dt.timedelta(seconds=5)
    MessageShortLinkClick.objects.update(click_id="D" * 16, clicked_at=occurred)
    MessageClick.objects.update(clicked_at=occurred)
    assert conversions_pending_match() == 1
    assert Conversion.objects.get().revenue == Decimal("12.5")


@pytest.mark.django_db
def test_an_old_human_click_with_a_late_repeat_is_not_called_bot_only(owner: Any) -> None:
    offer, _ = make_offer(owner, click_window_days=7)
    message = owner.mint(body="{{l}}", links={"l": {"offer": offer.pk}})
    link_id = message["links"][0]["link_id"]
    tracking(owner).get(f"/{link_id}", HTTP_USER_AGENT=BROWSER)
    tracking(owner).get(f"/{link_id}", HTTP_USER_AGENT=BROWSER)
    first, repeat = MessageShortLinkClick.objects.order_by("id")
    old = first.clicked_at - dt.timedelta(days=10)
    MessageShortLinkClick.objects.filter(pk=first.pk).update(clicked_at=old)
    MessageClick.objects.update(clicked_at=old)
    body = tracking(owner).get("/conv", {"link_id": link_id, "token": owner.postback_token}).json()
    assert body["attribution"] is None
    assert "bot" not in body["reason"] and "older than the 7-day window" in body["reason"]


@pytest.mark.django_db
class TestMintingInputs:
    def test_an_untracked_offer_link_needs_its_own_url(self, owner: Any) -> None:
        offer, _ = make_offer(owner, destination_url="https://net.example/c?aff_sub={click_id}")
        response = owner.post(
            "/api/v1/messages",
            {
                "contact": {"external_id": "c"},
                "body": "{{l}}",
                "links": {"l": {"offer": offer.pk, "track": False}},
            },
        )
        assert response.status_code == 400 and "links.l.url" in response.json()["errors"]

    def test_link_names_with_spaces_are_refused(self, owner: Any) -> None:
        response = owner.post(
            "/api/v1/messages",
            {"contact": {"external_id": "c"}, "body": "x", "links": {" l ": "https://a.example/"}},
        )
        assert response.status_code == 400 and "links. l " in response.json()["errors"]
