"""Holdout mints: recorded as HoldoutMessage, links checked but never minted, the body
answered unchanged, never a send and never view-through."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from attribution.models import Conversion
from core.models import Account, Campaign, Contact, Creative, HoldoutMessage, Message, SendingList
from links.models import MessageShortLink
from tests.conftest import AccountFixture
from tests.helpers import make_offer, make_offer_and_secret

BODY = "Spring sale {{deal}} and https://shop.example/more"


def holdout(offer_id: Any = None, **fields: Any) -> dict[str, Any]:
    link = {"offer": offer_id} if offer_id is not None else {"url": "https://shop.example/d"}
    return {
        "contact": {"external_id": "h-1", "phone": "+14155550123"},
        "body": BODY,
        "links": {"deal": link},
        "campaign": "Spring",
        "holdout": True,
    } | fields


class TestHoldoutMint:
    def test_it_is_recorded_and_nothing_is_minted(self, owner: AccountFixture) -> None:
        Account.objects.filter(pk=owner.account.pk).update(sms_segment_cost=Decimal("0.01"))
        offer = make_offer(owner)
        response = owner.post(
            "/api/v1/messages",
            holdout(offer.pk, external_id="hm-1", list="Main", creative="A"),
        )
        assert response.status_code == 201, response.content
        data = response.json()
        assert data["holdout"] is True
        assert data["body"] == BODY  # unchanged: no link minted in it
        assert data["links"] == []
        assert data["cost"] == "0.0000"
        assert data["segments"] == 1
        stored = HoldoutMessage.objects.get()
        assert data["id"] == stored.pk
        assert data["contact"] == {"id": stored.contact_id, "external_id": "h-1"}
        assert stored.offers == [offer.pk]
        assert stored.campaign == Campaign.objects.get(name="Spring")
        assert stored.creative == Creative.objects.get(name="A")
        assert stored.sending_list == SendingList.objects.get(name="Main")
        assert (stored.external_id, stored.channel) == ("hm-1", "sms")
        assert stored.contact.phone == "+14155550123"
        assert not Message.objects.exists()
        assert not MessageShortLink.objects.exists()

    def test_it_is_idempotent_by_external_id(self, owner: AccountFixture) -> None:
        first = owner.post("/api/v1/messages", holdout(external_id="hm-1")).json()
        again = owner.post("/api/v1/messages", holdout(external_id="hm-1")).json()
        assert first == again
        assert HoldoutMessage.objects.count() == 1
        assert Contact.objects.count() == 1

    def test_its_links_are_checked(self, owner: AccountFixture) -> None:
        response = owner.post("/api/v1/messages", holdout("no-such-offer"))
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["links.deal.offer"]
        bad_url = holdout(links={"deal": {"url": "ftp://x.example/"}})
        assert list(owner.post("/api/v1/messages", bad_url).json()["errors"]) == ["links.deal.url"]
        assert not HoldoutMessage.objects.exists() and not Contact.objects.exists()

    def test_a_holdout_with_a_cost_is_refused(self, owner: AccountFixture) -> None:
        response = owner.post("/api/v1/messages", holdout(cost="0.01"))
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["cost"]

    def test_holdout_must_be_a_boolean(self, owner: AccountFixture) -> None:
        response = owner.post("/api/v1/messages", holdout(holdout="yes"))
        assert list(response.json()["errors"]) == ["holdout"]

    def test_an_existing_contact_is_upserted(self, owner: AccountFixture) -> None:
        owner.mint(contact={"external_id": "h-1"}, body="earlier")
        owner.post("/api/v1/messages", holdout())
        contact = Contact.objects.get()
        assert contact.phone == "+14155550123"
        assert HoldoutMessage.objects.get().contact == contact


class TestBulkMixed:
    def test_sends_and_holdouts_in_one_batch(self, owner: AccountFixture) -> None:
        offer = make_offer(owner)
        send = {
            "external_id": "m-1",
            "contact": {"external_id": "t-1"},
            "body": "Hi {{deal}}",
            "links": {"deal": {"offer": offer.pk}},
            "campaign": "Spring",
        }
        items = [
            send,
            holdout(offer.pk, external_id="hm-1"),
            holdout(offer.pk, contact={"external_id": "h-2"}),
            holdout(offer.pk, external_id="hm-1"),  # the same holdout again in the batch
        ]
        response = owner.post("/api/v1/messages/bulk", items)
        assert response.status_code == 201, response.content
        results = response.json()
        assert [r["holdout"] for r in results] == [False, True, True, True]
        assert results[0]["body"] != "Hi {{deal}}" and len(results[0]["links"]) == 1
        assert all(r["body"] == BODY and r["links"] == [] for r in results[1:])
        assert results[1] == results[3]
        assert Message.objects.count() == 1 and MessageShortLink.objects.count() == 1
        assert HoldoutMessage.objects.count() == 2
        # The same external id as a send and as a holdout are two different records.
        again = owner.post("/api/v1/messages/bulk", [send | {"external_id": "hm-1"}]).json()
        assert again[0]["holdout"] is False and Message.objects.count() == 2

    def test_a_bad_holdout_fails_the_batch(self, owner: AccountFixture) -> None:
        send = {"contact": {"external_id": "t-1"}, "body": "Hi"}
        response = owner.post("/api/v1/messages/bulk", [send, holdout("nope")])
        assert response.status_code == 400
        assert response.json()["errors"][0]["index"] == 1
        assert not Message.objects.exists() and not HoldoutMessage.objects.exists()


def _conv_offer(account: AccountFixture, offer_id: int, secret: str, contact: str) -> Any:
    client = Client(HTTP_HOST=account.domain.host)
    return client.get(
        "/conv/offer", {"offer_id": offer_id, "secret": secret, "contact": contact, "revenue": "5"}
    )


@pytest.mark.django_db
def test_a_holdout_is_never_a_send_nor_view_through(owner: AccountFixture) -> None:
    offer, secret = make_offer_and_secret(owner)
    owner.post("/api/v1/messages", holdout(offer.pk, contact={"external_id": "held"}))
    owner.mint(
        contact={"external_id": "sent"},
        body="{{deal}}",
        links={"deal": {"offer": offer.pk}},
        campaign="Spring",
    )
    assert _conv_offer(owner, offer.pk, secret, "held").status_code == 200
    assert _conv_offer(owner, offer.pk, secret, "sent").status_code == 200
    by_contact = {c.contact.external_id: c for c in Conversion.objects.select_related("contact")}
    # The holdout contact received nothing: its conversion is not credited to any message.
    assert by_contact["held"].attribution_type != Conversion.AttributionType.VIEW_THROUGH
    assert by_contact["held"].message_id is None
    # A contact that was sent the message is view-through: the rule itself still works.
    assert by_contact["sent"].attribution_type == Conversion.AttributionType.VIEW_THROUGH
    call_command("build_rollups", stdout=io.StringIO())
    rows = owner.get("/api/v1/reports/campaigns").json()["results"]
    (spring,) = [r for r in rows if r["label"] == "Spring"]
    assert spring["sends"] == 1
