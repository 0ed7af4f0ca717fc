"""Conversion events (attribution.conversion_events): conversion.recorded once per
conversion, once it is settled; conversion.reattributed when an announced conversion's
credited click moves."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from attribution.conversion_events import conversions_announce
from attribution.models import Conversion
from attribution.services import conversions_pending_match
from attribution.tasks import conversions_announce_task
from core.events import event_timestamp
from core.models import Event
from links.clicks import click_verdict_set
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick
from tests.helpers import make_offer, make_offer_and_secret, tap


def recorded(*types: str) -> list[Event]:
    return list(Event.objects.filter(type__in=types or ["conversion.recorded"]).order_by("id"))


def postback(account: Any, **params: Any) -> Any:
    client = Client(HTTP_HOST=account.domain.host)
    return client.get("/conv", {"token": account.postback_token} | params)


def minted(account: Any, offer: Any, contact: str = "c1") -> dict:
    return account.mint(
        contact={"external_id": contact, "phone": "+14155550111"},
        body="{{link1}}",
        links={"link1": {"offer": offer.pk}},
        campaign="Spring",
    )


@pytest.mark.django_db
class TestConversionRecorded:
    def test_once_per_conversion_with_its_payload(self, owner: Any) -> None:
        offer = make_offer(owner, name="Shoes")
        message = minted(owner, offer)
        click_id = tap(owner, message, at=timezone.now() - dt.timedelta(hours=1))
        response = postback(owner, click_id=click_id, revenue="12.50", txn_id="t1")
        assert response.status_code == 200, response.content
        assert recorded() == []  # not in the postback request
        assert conversions_announce_task() == 1
        assert conversions_announce() == 0
        (event,) = recorded()
        conversion = Conversion.objects.get()
        click = MessageShortLinkClick.objects.get(click_id=click_id)
        assert event.account_id == owner.account.pk
        assert event.data["conversion"] == {
            "id": conversion.pk,
            "txn_id": "t1",
            "event": conversion.event,
            "status": "accepted",
            "approval": "approved",
            "revenue": "12.5000",
            "payout": "12.5000",
            "currency": conversion.currency,
            "occurred_at": event_timestamp(conversion.occurred_at),
            "attribution_type": conversion.attribution_type,
            "unattributed_reason": "",
        }
        assert event.data["contact"]["external_id"] == "c1"
        assert event.data["contact"]["phone"] == "+14155550111"
        assert event.data["message"]["id"] == message["id"]
        assert event.data["offer"] == {"id": offer.pk, "name": "Shoes"}
        assert event.data["campaign"]["name"] == "Spring"
        assert event.data["creative"] is None
        assert event.data["click"] == {
            "id": click_id,
            "clicked_at": event_timestamp(click.clicked_at),
        }
        # A repeat of the postback is a duplicate: nothing more to tell.
        postback(owner, click_id=click_id, revenue="12.50", txn_id="t1")
        assert conversions_announce() == 0 and len(recorded()) == 1

    def test_an_unattributed_conversion_names_no_click(self, owner: Any) -> None:
        offer, secret = make_offer_and_secret(owner)
        client = Client(HTTP_HOST=owner.domain.host)
        response = client.get(
            "/conv/offer", {"offer_id": offer.pk, "secret": secret, "revenue": "3"}
        )
        assert response.status_code == 200, response.content
        conversions_announce()
        (event,) = recorded()
        assert event.data["click"] is None and event.data["contact"] is None
        assert event.data["conversion"]["attribution_type"] == "offer"

    def test_a_pending_conversion_is_told_of_once_its_click_is_found(self, owner: Any) -> None:
        offer = make_offer(owner)
        message = minted(owner, offer)
        early = "A" * 16
        assert postback(owner, click_id=early, revenue="7", txn_id="e").status_code == 202
        assert conversions_announce() == 0 and recorded() == []
        tap(owner, message, at=timezone.now() - dt.timedelta(hours=1))
        MessageShortLinkClick.objects.update(click_id=early)
        MessageClick.objects.update(click_id=early)  # the counted click keeps the id
        assert conversions_pending_match() == 1
        assert conversions_announce() == 1
        (event,) = recorded()
        assert event.data["conversion"]["status"] == "accepted"
        assert event.data["click"]["id"] == early


@pytest.mark.django_db
class TestConversionReattributed:
    def test_told_when_the_credited_click_moves(self, owner: Any) -> None:
        offer = make_offer(owner)
        first_message = minted(owner, offer)
        second_message = minted(owner, offer)
        now = timezone.now()
        first = tap(owner, first_message, at=now - dt.timedelta(hours=2))
        second = tap(owner, second_message, at=now - dt.timedelta(hours=1))
        link = MessageShortLink.objects.get(message_id=first_message["id"])
        assert postback(owner, link_id=link.link_id, revenue="5", txn_id="r").status_code == 200
        assert Conversion.objects.get().raw_click.click_id == first
        conversions_announce()
        click_verdict_set(
            MessageShortLinkClick.objects.get(click_id=first), is_bot=True, reason="behaviour:test"
        )
        (event,) = recorded("conversion.reattributed")
        assert event.data["previous_click"]["id"] == first
        assert event.data["click"]["id"] == second
        assert event.data["message"]["id"] == second_message["id"]
        assert len(recorded()) == 1  # recorded once, not again

    def test_an_unannounced_conversion_is_told_of_with_its_final_credit(self, owner: Any) -> None:
        offer = make_offer(owner)
        first_message = minted(owner, offer)
        second_message = minted(owner, offer)
        now = timezone.now()
        first = tap(owner, first_message, at=now - dt.timedelta(hours=2))
        second = tap(owner, second_message, at=now - dt.timedelta(hours=1))
        link = MessageShortLink.objects.get(message_id=first_message["id"])
        postback(owner, link_id=link.link_id, revenue="5", txn_id="u")
        click_verdict_set(
            MessageShortLinkClick.objects.get(click_id=first), is_bot=True, reason="behaviour:test"
        )
        assert recorded("conversion.reattributed") == []
        conversions_announce()
        (event,) = recorded()
        assert event.data["click"]["id"] == second
