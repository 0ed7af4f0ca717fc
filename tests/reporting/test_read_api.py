from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from attribution.models import Conversion
from attribution.tasks import conversions_pending_match_task
from core.models import Offer
from links.models import MessageClick, MessageShortLinkClick

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"


def offer_for(account: Any) -> Offer:
    offer = Offer(account=account.account, name="O", destination_url="https://adv.example/")
    offer.rotate_postback_secret()
    offer.save()
    return offer


def clicked_and_converted(account: Any, revenue: str = "20") -> tuple[dict, str]:
    offer = offer_for(account)
    message = account.mint(
        contact={"external_id": "c1"},
        body="{{l}}",
        campaign="Spring",
        links={"l": {"offer": offer.pk}},
    )
    tracking = Client(HTTP_HOST=account.domain.host)
    location = tracking.get(f"/{message['links'][0]['link_id']}", HTTP_USER_AGENT=BROWSER)[
        "Location"
    ]
    click_id = location.rsplit("=", 1)[1]
    tracking.get(
        "/conv",
        {"click_id": click_id, "revenue": revenue, "txn_id": "t1", "token": account.postback_token},
    )
    return message, click_id


@pytest.mark.django_db
def test_the_message_api_shows_conversions_and_revenue(owner: Any) -> None:
    message, _ = clicked_and_converted(owner, "20.5")
    body = owner.get(f"/api/v1/messages/{message['id']}").json()
    assert (body["converted"], body["conversions"], body["revenue"]) == (True, 1, "20.50")
    assert body["clicked"] is True
    [click] = body["clicks"]  # the iPhone tap, from the test client's 127.0.0.1
    assert (click["device"], click["os"], click["country"], click["counted"]) == (
        "mobile", "iOS", None, True
    )  # fmt: skip


@pytest.mark.django_db
def test_conversions_are_listed_and_filtered(owner: Any, outsider: Any) -> None:
    message, _ = clicked_and_converted(owner)
    rows = owner.get("/api/v1/conversions").json()["results"]
    assert [(r["message_id"], r["status"], r["revenue"]) for r in rows] == [
        (message["id"], "accepted", "20.00")
    ]
    assert owner.get("/api/v1/conversions", status="pending").json()["results"] == []
    assert owner.get("/api/v1/conversions", offer=rows[0]["offer_id"]).json()["count"] == 1
    tomorrow = (timezone.now().date() + dt.timedelta(days=1)).isoformat()
    assert owner.get("/api/v1/conversions", start=tomorrow, end=tomorrow).json()["count"] == 0
    assert owner.get("/api/v1/conversions", start="yesterday").status_code == 400
    assert outsider.get("/api/v1/conversions").json()["count"] == 0


@pytest.mark.django_db
def test_a_contacts_journey_is_in_time_order(owner: Any, outsider: Any) -> None:
    message, click_id = clicked_and_converted(owner)
    contact_id = message["contact"]["id"]
    body = owner.get(f"/api/v1/contacts/{contact_id}/journey").json()
    assert [e["type"] for e in body["events"]] == ["message", "click", "conversion"]
    assert body["events"][1]["click_id"] == click_id and body["events"][1]["counted"] is True
    assert (body["events"][1]["device"], body["events"][1]["os"]) == ("mobile", "iOS")
    assert body["total_revenue"] == "20.00"
    assert outsider.get(f"/api/v1/contacts/{contact_id}/journey").status_code == 404


@pytest.mark.django_db
def test_a_journeys_revenue_counts_approved_conversions_only(owner: Any) -> None:
    message, click_id = clicked_and_converted(owner)
    network = Client(HTTP_HOST=owner.domain.host)
    for txn_id, status in (("t2", "pending"), ("t3", "rejected"), ("t4", "approved")):
        answer = network.get(
            "/conv",
            {"click_id": click_id, "revenue": "5", "txn_id": txn_id, "status": status,
             "token": owner.postback_token},
        )  # fmt: skip
        assert answer.json()["status"] == "accepted"
    body = owner.get(f"/api/v1/contacts/{message['contact']['id']}/journey").json()
    assert body["total_revenue"] == "25.00"  # 20 + the approved 5


@pytest.mark.django_db
def test_the_pending_task_matches_a_postback_once_its_click_lands(owner: Any) -> None:
    tracking = Client(HTTP_HOST=owner.domain.host)
    tracking.get("/conv", {"click_id": "C" * 16, "revenue": "3", "token": owner.postback_token})
    assert conversions_pending_match_task.delay().get() == 0  # the click is not there yet
    message = owner.mint(contact={"external_id": "p"}, body="https://a.example/")
    tracking.get(f"/{message['links'][0]['link_id']}", HTTP_USER_AGENT=BROWSER)
    conversion = Conversion.objects.get()
    MessageShortLinkClick.objects.update(
        click_id="C" * 16, clicked_at=conversion.occurred_at - dt.timedelta(seconds=5)
    )
    MessageClick.objects.update(clicked_at=conversion.occurred_at - dt.timedelta(seconds=5))
    assert conversions_pending_match_task.delay().get() == 1
    conversion.refresh_from_db()
    assert (conversion.status, conversion.message_id) == ("accepted", message["id"])


@pytest.mark.django_db
def test_a_unicode_digit_filter_is_a_400(owner: Any) -> None:
    assert owner.get("/api/v1/conversions", offer="²").status_code == 400
