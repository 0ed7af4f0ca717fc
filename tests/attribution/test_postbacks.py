from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from attribution.models import Conversion, PostbackLog
from attribution.services import PENDING_TIMEOUT, conversions_pending_match
from attribution.views import PIXEL
from core.models import Offer
from links.models import MessageShortLinkClick
from tests.helpers import GOOGLEBOT, make_offer_and_secret, tap


def send(account: Any, offer: Offer | None = None, contact: str = "c1", **fields: Any) -> dict:
    links = {"link1": {"offer": offer.pk} if offer else {"url": "https://a.example/"}}
    return account.mint(contact={"external_id": contact}, body="{{link1}}", links=links, **fields)


def postback(account: Any, path: str = "/conv", method: str = "get", **params: Any) -> Any:
    """A network's postback; to /conv with the account's token unless `token` is given."""
    if path == "/conv":
        params = {"token": account.postback_token} | params
    client = Client(HTTP_HOST=account.domain.host)
    if method == "post":  # as networks send it: an urlencoded form
        return client.post(
            path, urlencode(params), content_type="application/x-www-form-urlencoded"
        )
    return client.get(path, params)


@pytest.mark.django_db
class TestConv:
    def test_a_click_id_postback_is_accepted_and_credited(self, owner: Any) -> None:
        offer, _ = make_offer_and_secret(owner)
        message = send(owner, offer, campaign="Spring", creative="A")
        click_id = tap(owner, message)
        response = postback(owner, click_id=click_id, revenue="25.50", txn_id="t1")
        assert response.status_code == 200
        body = response.json()
        conversion = Conversion.objects.get()
        assert body["status"] == "accepted" and body["conversion_id"] == conversion.pk
        assert body["attribution"] == {
            "type": "direct",
            "click_id": click_id,
            "message_id": message["id"],
            "creative_id": conversion.creative_id,
            "offer_id": offer.pk,
            "contact_id": message["contact"]["id"],
            "campaign_id": conversion.campaign_id,
        }
        assert conversion.revenue == Decimal("25.50") and conversion.currency == "USD"
        assert conversion.campaign.name == "Spring"

    def test_form_posts_work_too(self, owner: Any) -> None:
        message = send(owner)
        click_id = tap(owner, message)
        response = postback(owner, method="post", click_id=click_id, revenue="3", txn_id="p")
        assert response.json()["status"] == "accepted"
        assert (
            PostbackLog.objects.get().body
            == f"token=[redacted]&click_id={click_id}&revenue=3&txn_id=p"
        )

    def test_a_link_id_postback_credits_the_contact(self, owner: Any) -> None:
        offer, _ = make_offer_and_secret(owner)
        message = send(owner, offer)
        tap(owner, message)
        response = postback(owner, link_id=message["links"][0]["link_id"], revenue="1")
        assert response.json()["attribution"]["message_id"] == message["id"]

    def test_a_repeat_is_a_duplicate_and_creates_nothing(self, owner: Any) -> None:
        message = send(owner)
        click_id = tap(owner, message)
        first = postback(owner, click_id=click_id, revenue="5", txn_id="t1").json()
        again = postback(owner, click_id=click_id, revenue="5", txn_id="t1")
        other_event = postback(owner, click_id=click_id, revenue="5", txn_id="t1", event="upsell")
        assert again.status_code == 200
        assert again.json()["status"] == "duplicate"
        assert again.json()["conversion_id"] == first["conversion_id"]
        assert other_event.json()["status"] == "accepted"
        assert Conversion.objects.count() == 2
        assert PostbackLog.objects.filter(outcome="duplicate").count() == 1

    def test_without_a_txn_id_every_postback_is_a_new_conversion(self, owner: Any) -> None:
        message = send(owner)
        click_id = tap(owner, message)
        postback(owner, click_id=click_id)
        postback(owner, click_id=click_id)
        assert Conversion.objects.count() == 2

    def test_the_revenue_defaults_to_the_offers_payout(self, owner: Any) -> None:
        offer, _ = make_offer_and_secret(owner, default_payout=Decimal("12.5"))
        click_id = tap(owner, send(owner, offer))
        postback(owner, click_id=click_id)
        assert Conversion.objects.get().revenue == Decimal("12.5")

    @pytest.mark.parametrize(
        ("params", "status", "field"),
        [
            ({}, 400, "click_id"),
            ({"revenue": "abc"}, 400, "revenue"),
            ({"revenue": "-1"}, 400, "revenue"),
            ({"revenue": "NaN"}, 400, "revenue"),
            ({"revenue": "Infinity"}, 400, "revenue"),
            ({"revenue": "1e309"}, 400, "revenue"),
            ({"revenue": "$25"}, 400, "revenue"),
            ({"currency": "dollars"}, 400, "currency"),
            ({"currency": "XYZ"}, 400, "currency"),
            ({"ts": "last tuesday"}, 400, "ts"),
            ({"click_id": "short"}, 400, "click_id"),
            ({"link_id": "bad!"}, 400, "link_id"),
            ({"link_id": "zzzzzzz"}, 404, "link_id"),
        ],
    )
    def test_bad_input_is_answered_named_and_logged(
        self, owner: Any, params: dict, status: int, field: str
    ) -> None:
        if "click_id" not in params and "link_id" not in params and params:
            params = {"click_id": tap(owner, send(owner)), **params}
        response = postback(owner, **params)
        assert response.status_code == status
        assert response.json()["field"] == field
        log = PostbackLog.objects.get()
        assert (log.outcome, log.http_status) == ("rejected", status)
        assert field in log.reason or log.reason
        assert not Conversion.objects.exists()

    def test_currency_and_unix_or_iso_timestamps_are_taken(self, owner: Any) -> None:
        click_id = tap(owner, send(owner))
        postback(owner, click_id=click_id, currency="eur", ts="1790000000", txn_id="a")
        postback(owner, click_id=click_id, ts="2026-11-24T10:00:00+01:00", txn_id="b")
        a, b = Conversion.objects.order_by("txn_id")
        assert a.currency == "EUR" and a.occurred_at == dt.datetime.fromtimestamp(
            1790000000, dt.UTC
        )
        assert b.occurred_at == dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)

    def test_postbacks_answer_only_on_tracking_hosts(self, owner: Any) -> None:
        assert Client(HTTP_HOST="localhost").get("/conv").status_code == 404


@pytest.mark.django_db
class TestAttributionRule:
    def test_first_click_wins_across_messages(self, owner: Any) -> None:
        """Monday: clicks A. Wednesday: clicks B. Friday: converts via B's click id. A wins."""
        offer, _ = make_offer_and_secret(owner)
        friday = timezone.now()
        monday, wednesday = friday - dt.timedelta(days=4), friday - dt.timedelta(days=2)
        message_a = send(owner, offer)
        message_b = send(owner, offer)
        click_a = tap(owner, message_a, at=monday)
        click_b = tap(owner, message_b, at=wednesday)
        body = postback(owner, click_id=click_b, revenue="10").json()
        assert body["attribution"]["message_id"] == message_a["id"]
        assert body["attribution"]["click_id"] == click_a
        assert body["attribution"]["type"] == "click_through"

    @pytest.mark.parametrize(
        ("age", "window", "credited"),
        [
            (dt.timedelta(days=90) - dt.timedelta(seconds=1), None, True),
            (dt.timedelta(days=90) + dt.timedelta(seconds=1), None, False),
            (dt.timedelta(days=7) - dt.timedelta(seconds=1), 7, True),
            (dt.timedelta(days=7) + dt.timedelta(seconds=1), 7, False),
        ],
    )
    def test_window_edges(
        self, owner: Any, age: dt.timedelta, window: int | None, credited: bool
    ) -> None:
        offer, _ = make_offer_and_secret(owner, click_window_days=window)
        converted_at = timezone.now().replace(microsecond=0)
        message = send(
            owner, offer, sent_at=(converted_at - age - dt.timedelta(hours=1)).isoformat()
        )
        click_id = tap(owner, message, at=converted_at - age)
        body = postback(owner, click_id=click_id, ts=str(int(converted_at.timestamp()))).json()
        assert (body["attribution"] is not None) == credited
        if not credited:
            assert "window" in body["reason"]

    def test_a_bot_only_clicker_is_unattributed_with_the_reason(self, owner: Any) -> None:
        offer, _ = make_offer_and_secret(owner)
        message = send(owner, offer)
        tap(owner, message, ua=GOOGLEBOT)
        body = postback(owner, link_id=message["links"][0]["link_id"]).json()
        assert body["attribution"] is None
        assert "bot" in body["reason"]
        assert Conversion.objects.get().attribution_type == "none"

    def test_a_contact_who_received_but_never_clicked_is_view_through(self, owner: Any) -> None:
        offer, secret = make_offer_and_secret(owner)
        message = send(owner, offer, contact="vt")
        response = postback(owner, "/conv/offer", offer_id=offer.pk, secret=secret, contact="vt")
        body = response.json()
        assert body["attribution"]["type"] == "view_through"
        assert body["attribution"]["message_id"] == message["id"]
        assert body["attribution"]["click_id"] is None


@pytest.mark.django_db
class TestConvOffer:
    def test_without_a_contact_it_is_offer_level_revenue(self, owner: Any) -> None:
        offer, secret = make_offer_and_secret(owner)
        body = postback(owner, "/conv/offer", offer_id=offer.pk, secret=secret, revenue="9").json()
        conversion = Conversion.objects.get()
        assert body["status"] == "accepted" and body["attribution"] is None
        assert (conversion.attribution_type, conversion.offer_id) == ("offer", offer.pk)

    def test_a_contact_by_phone_is_attributed_like_any_conversion(self, owner: Any) -> None:
        offer, secret = make_offer_and_secret(owner)
        message = owner.mint(
            contact={"phone": "+14155550123"}, body="{{l}}", links={"l": {"offer": offer.pk}}
        )
        tap(owner, message)
        body = postback(
            owner, "/conv/offer", offer_id=offer.pk, secret=secret, contact="+1 415 555 0123"
        ).json()
        assert body["attribution"]["message_id"] == message["id"]

    @pytest.mark.parametrize("secret", ["", "wrong"])
    def test_a_wrong_or_missing_secret_is_403_and_logged(self, owner: Any, secret: str) -> None:
        offer, _ = make_offer_and_secret(owner)
        response = postback(owner, "/conv/offer", offer_id=offer.pk, secret=secret)
        assert response.status_code == 403
        assert PostbackLog.objects.get().outcome == "rejected"
        assert not Conversion.objects.exists()

    def test_another_accounts_offer_is_403(self, owner: Any, outsider: Any) -> None:
        offer, secret = make_offer_and_secret(outsider)
        assert postback(owner, "/conv/offer", offer_id=offer.pk, secret=secret).status_code == 403


@pytest.mark.django_db
class TestPixel:
    @pytest.mark.parametrize("query", [{}, {"revenue": "abc"}, {"revenue": "4", "txn_id": "x"}])
    def test_it_always_answers_the_gif(self, owner: Any, query: dict) -> None:
        message = send(owner)
        response = postback(owner, f"/pixel/{message['links'][0]['link_id']}.gif", **query)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/gif"
        assert response["Cache-Control"] == "no-store"
        assert response.content == PIXEL and len(PIXEL) == 43
        assert PostbackLog.objects.get().endpoint == "pixel"

    def test_an_unknown_link_still_gets_the_gif_and_is_logged(self, owner: Any) -> None:
        response = postback(owner, "/pixel/zzzzzzz.gif")
        assert response.status_code == 200 and response.content == PIXEL
        assert PostbackLog.objects.get().http_status == 404

    def test_without_the_token_requirement_a_pixel_records_its_revenue(
        self, make_account: Any
    ) -> None:
        account = make_account(require_postback_token=False)  # as accounts made before it
        message = send(account)
        tap(account, message)
        postback(account, f"/pixel/{message['links'][0]['link_id']}.gif", revenue="4")
        assert Conversion.objects.get().revenue == Decimal("4")


@pytest.mark.django_db
class TestPending:
    def test_a_postback_before_its_click_is_matched_when_the_click_lands(self, owner: Any) -> None:
        message = send(owner)
        early_click_id = "A" * 16
        response = postback(owner, click_id=early_click_id, revenue="7", txn_id="early")
        assert response.status_code == 202 and response.json()["status"] == "pending"
        # The click happened before the conversion; it only reaches the database later.
        tap(owner, message, at=Conversion.objects.get().occurred_at - dt.timedelta(minutes=1))
        MessageShortLinkClick.objects.update(click_id=early_click_id)
        assert conversions_pending_match() == 1
        conversion = Conversion.objects.get()
        assert conversion.status == "accepted"
        assert conversion.message_id == message["id"] and conversion.message_click is not None

    def test_a_click_that_never_arrives_leaves_the_conversion_unattributed(
        self, owner: Any
    ) -> None:
        postback(owner, click_id="B" * 16, revenue="7")
        assert conversions_pending_match() == 0
        later = timezone.now() + PENDING_TIMEOUT
        assert conversions_pending_match(now=later) == 1
        conversion = Conversion.objects.get()
        assert conversion.status == "accepted" and "never arrived" in conversion.unattributed_reason


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_duplicates_make_one_conversion(make_account: Any) -> None:
    account = make_account()
    click_id = tap(account, send(account))
    barrier = threading.Barrier(20)
    statuses: list[str] = []

    def post_once() -> None:
        try:
            barrier.wait()
            body = postback(account, click_id=click_id, revenue="5", txn_id="same").json()
            statuses.append(body["status"])
        finally:
            connection.close()

    threads = [threading.Thread(target=post_once) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == ["accepted"] + ["duplicate"] * 19
    assert Conversion.objects.count() == 1
    assert PostbackLog.objects.count() == 20


@pytest.mark.django_db
def test_a_pending_conversion_gets_the_offers_default_payout(owner: Any) -> None:
    offer, _ = make_offer_and_secret(owner, default_payout=Decimal("12.5"))
    message = send(owner, offer)
    postback(owner, click_id="D" * 16)
    tap(owner, message, at=Conversion.objects.get().occurred_at - dt.timedelta(seconds=5))
    MessageShortLinkClick.objects.update(click_id="D" * 16)
    assert conversions_pending_match() == 1
    assert Conversion.objects.get().revenue == Decimal("12.5")


@pytest.mark.django_db
def test_an_old_human_click_with_a_late_repeat_is_not_called_bot_only(owner: Any) -> None:
    offer, _ = make_offer_and_secret(owner, click_window_days=7)
    message = send(owner, offer)
    tap(owner, message, at=timezone.now() - dt.timedelta(days=10))
    tap(owner, message)  # the repeat, within the window but not the counted click
    body = postback(owner, link_id=message["links"][0]["link_id"]).json()
    assert body["attribution"] is None
    assert "bot" not in body["reason"] and "older than the 7-day window" in body["reason"]
