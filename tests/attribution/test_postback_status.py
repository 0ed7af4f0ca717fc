"""A postback's `status` and `payout`: a new conversion takes its approval and both amounts
from them; a postback naming a stored (txn_id, event) updates that conversion through
attribution.adjustments (amounts as new totals), answering `updated`, or `duplicate` when
it changes nothing; the pixel under the account's token requirement ignores both and never
updates (attribution/views.py, attribution/services.py, attribution/fastpath.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from attribution.models import Conversion, ConversionAdjustment, PostbackLog
from tests.helpers import clicked, make_offer, make_offer_and_secret, tracking

pytestmark = pytest.mark.django_db


def conv(account: Any, **params: Any) -> Any:
    return tracking(account).get("/conv", {"token": account.postback_token, **params})


def log_of(response: Any) -> PostbackLog:
    return PostbackLog.objects.order_by("-id").first()


class TestANewConversion:
    @pytest.mark.parametrize("status", ["approved", "pending", "rejected", "reversed"])
    def test_it_takes_its_approval_from_status_on_the_fast_path(
        self, owner: Any, status: str
    ) -> None:
        offer = make_offer(owner)
        _, click_id = clicked(owner, offer)
        response = conv(owner, click_id=click_id, txn_id="t1", status=status, payout="4")
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "accepted"
        assert response.json()["attribution"]["type"] == "click_through"
        conversion = Conversion.objects.get()
        assert (conversion.approval, conversion.payout) == (status, Decimal("4"))
        assert conversion.revenue == Decimal("4")  # one missing equals the other

    @pytest.mark.parametrize("status", ["approved", "pending", "rejected", "reversed"])
    def test_it_takes_its_approval_from_status_on_conv_offer(self, owner: Any, status: str) -> None:
        offer, secret = make_offer_and_secret(owner)
        response = tracking(owner).get(
            "/conv/offer",
            {"offer_id": offer.pk, "secret": secret, "status": status.upper(), "revenue": "30",
             "payout": "3"},
        )  # fmt: skip
        assert response.json()["status"] == "accepted"
        conversion = Conversion.objects.get()
        assert (conversion.approval, conversion.revenue, conversion.payout) == (
            status, Decimal("30"), Decimal("3"),
        )  # fmt: skip

    def test_without_status_it_is_approved_and_both_amounts_default_to_the_offers(
        self, owner: Any
    ) -> None:
        offer = make_offer(owner, default_payout=Decimal("7.50"))
        _, click_id = clicked(owner, offer)
        conv(owner, click_id=click_id)
        conversion = Conversion.objects.get()
        assert conversion.approval == "approved"
        assert (conversion.revenue, conversion.payout) == (Decimal("7.50"), Decimal("7.50"))
        assert conversion.revenue_reported is False

    @pytest.mark.parametrize(
        ("params", "field"),
        [({"status": "invalid"}, "status"), ({"payout": "-1"}, "payout"),
         ({"payout": "lots"}, "payout"), ({"revenue": "-5"}, "revenue")],
    )  # fmt: skip
    def test_a_bad_status_or_amount_is_a_400_naming_the_field(
        self, owner: Any, params: dict[str, str], field: str
    ) -> None:
        _, click_id = clicked(owner, make_offer(owner))
        response = conv(owner, click_id=click_id, **params)
        assert response.status_code == 400
        assert response.json()["field"] == field
        assert log_of(response).outcome == "rejected"
        assert not Conversion.objects.exists()

    def test_a_credited_one_with_payout_and_status_still_takes_two_statements(
        self, owner: Any
    ) -> None:
        _, click_id = clicked(owner, make_offer(owner))
        # Warmed with figures of the same types: a prepared plan is per parameter types.
        conv(owner, click_id=click_id, txn_id="warm", revenue="1", payout="1", status="approved")
        with CaptureQueriesContext(connection) as queries:
            response = conv(
                owner, click_id=click_id, txn_id="t1", revenue="90", payout="9", status="pending"
            )
        assert response.json()["status"] == "accepted"
        assert [q["sql"] for q in queries.captured_queries] == []  # prepared, none via the ORM
        prepared = connection.connection.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%attribution_%'"
        ).fetchone()[0]
        assert prepared == 2
        conversion = Conversion.objects.get(txn_id="t1")
        assert (conversion.revenue, conversion.payout, conversion.approval) == (
            Decimal("90"), Decimal("9"), "pending",
        )  # fmt: skip

    def test_postbacks_without_txn_id_are_each_new(self, owner: Any) -> None:
        _, click_id = clicked(owner, make_offer(owner))
        conv(owner, click_id=click_id, revenue="5")
        second = conv(owner, click_id=click_id, status="rejected")
        assert second.json()["status"] == "accepted"
        assert Conversion.objects.count() == 2
        assert not ConversionAdjustment.objects.exists()


class TestTheRevenueCap:
    def capped(self, owner: Any) -> Any:
        return make_offer(owner, revenue_cap=Decimal("100"))

    @pytest.mark.parametrize("vendor", ["postgresql", "sqlite"])  # fast path, full path
    def test_a_payout_above_it_is_a_400_naming_payout(
        self, owner: Any, monkeypatch: Any, vendor: str
    ) -> None:
        _, click_id = clicked(owner, self.capped(owner))
        if vendor == "sqlite":  # the embedded default: no fast path
            monkeypatch.setattr(connection, "vendor", vendor)
        response = conv(owner, click_id=click_id, revenue="50", payout="100.01")
        assert response.status_code == 400
        assert response.json()["field"] == "payout"
        assert not Conversion.objects.exists()

    def test_an_update_above_it_is_refused_and_changes_nothing(self, owner: Any) -> None:
        _, click_id = clicked(owner, self.capped(owner))
        conv(owner, click_id=click_id, txn_id="t1", revenue="50")
        response = conv(owner, click_id=click_id, txn_id="t1", payout="150")
        assert response.status_code == 400 and response.json()["field"] == "payout"
        assert Conversion.objects.get().payout == Decimal("50")
        assert not ConversionAdjustment.objects.exists()


class TestAnUpdate:
    def stored(self, owner: Any, **params: str) -> tuple[str, Conversion]:
        _, click_id = clicked(owner, make_offer(owner))
        response = conv(owner, click_id=click_id, txn_id="t1", **params)
        assert response.json()["status"] == "accepted"
        return click_id, Conversion.objects.get()

    def test_a_status_only_postback_changes_only_the_approval(self, owner: Any) -> None:
        click_id, conversion = self.stored(owner, revenue="40", payout="8", status="pending")
        response = conv(owner, click_id=click_id, txn_id="t1", status="approved")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "updated"
        assert body["conversion_id"] == conversion.pk
        assert body["attribution"]["type"] == "click_through"
        conversion.refresh_from_db()
        assert (conversion.approval, conversion.revenue, conversion.payout) == (
            "approved", Decimal("40"), Decimal("8"),
        )  # fmt: skip
        log = log_of(response)
        assert (log.outcome, log.http_status) == ("updated", 200)
        adjustment = ConversionAdjustment.objects.get()
        assert (adjustment.source, adjustment.postback_log_id) == ("postback", log.pk)
        assert (adjustment.approval_before, adjustment.approval_after) == ("pending", "approved")
        assert adjustment.revenue_change == 0 and adjustment.payout_change == 0

    def test_a_partial_refund_lowers_the_amounts_as_new_totals(self, owner: Any) -> None:
        click_id, conversion = self.stored(owner, revenue="100", payout="10")
        response = conv(owner, click_id=click_id, txn_id="t1", revenue="60", payout="6")
        assert response.json()["status"] == "updated"
        conversion.refresh_from_db()
        assert (conversion.revenue, conversion.payout) == (Decimal("60"), Decimal("6"))
        adjustment = ConversionAdjustment.objects.get()
        assert (adjustment.revenue_change, adjustment.payout_change) == (
            Decimal("-40"), Decimal("-4"),
        )  # fmt: skip
        assert conversion.approval == "approved"

    def test_only_the_amount_sent_changes(self, owner: Any) -> None:
        click_id, conversion = self.stored(owner, revenue="100", payout="10")
        conv(owner, click_id=click_id, txn_id="t1", payout="0")
        conversion.refresh_from_db()
        assert (conversion.revenue, conversion.payout) == (Decimal("100"), Decimal("0"))

    def test_one_amount_alone_moves_both_while_they_are_equal(self, owner: Any) -> None:
        # A network that only ever sends `revenue`: its conversion pays what it sold, and a
        # refund sent as revenue alone lowers the payout with it.
        click_id, conversion = self.stored(owner, revenue="100")
        assert conversion.payout == Decimal("100")
        conv(owner, click_id=click_id, txn_id="t1", revenue="30")
        conversion.refresh_from_db()
        assert (conversion.revenue, conversion.payout) == (Decimal("30"), Decimal("30"))
        adjustment = ConversionAdjustment.objects.get()
        assert (adjustment.revenue_change, adjustment.payout_change) == (
            Decimal("-70"), Decimal("-70"),
        )  # fmt: skip

    def test_one_that_changes_nothing_is_a_duplicate(self, owner: Any) -> None:
        click_id, conversion = self.stored(owner, revenue="100", status="pending")
        for params in ({}, {"revenue": "100"}, {"status": "pending", "payout": "100.00"}):
            response = conv(owner, click_id=click_id, txn_id="t1", **params)
            assert response.json()["status"] == "duplicate"
            assert log_of(response).outcome == "duplicate"
        assert not ConversionAdjustment.objects.exists()

    def test_a_negative_amount_is_refused(self, owner: Any) -> None:
        click_id, conversion = self.stored(owner, revenue="100")
        response = conv(owner, click_id=click_id, txn_id="t1", revenue="-100")
        assert response.status_code == 400 and response.json()["field"] == "revenue"
        conversion.refresh_from_db()
        assert conversion.revenue == Decimal("100")

    def test_it_is_matched_by_txn_id_and_event(self, owner: Any) -> None:
        click_id, conversion = self.stored(owner, revenue="100")
        other = conv(owner, click_id=click_id, txn_id="t1", event="upsell", status="rejected")
        assert other.json()["status"] == "accepted"  # another event: a new conversion
        conversion.refresh_from_db()
        assert conversion.approval == "approved"

    def test_conv_offer_updates_too(self, owner: Any) -> None:
        offer, secret = make_offer_and_secret(owner)
        params = {"offer_id": offer.pk, "secret": secret, "txn_id": "o1"}
        tracking(owner).get("/conv/offer", {**params, "revenue": "20"})
        response = tracking(owner).get("/conv/offer", {**params, "status": "reversed"})
        assert response.json()["status"] == "updated"
        assert response.json()["attribution"] is None
        assert Conversion.objects.get().approval == "reversed"


class TestThePixel:
    def test_under_the_token_requirement_it_ignores_status_and_payout_and_never_updates(
        self, owner: Any
    ) -> None:
        offer = make_offer(owner, default_payout=Decimal("5"))
        link_id, _ = clicked(owner, offer)
        pixel = f"/pixel/{link_id}.gif"
        params = {"txn_id": "p1", "status": "pending", "payout": "500"}
        assert tracking(owner).get(pixel, params).status_code == 200
        conversion = Conversion.objects.get()
        assert (conversion.approval, conversion.payout) == ("approved", Decimal("5"))
        tracking(owner).get(pixel, {"txn_id": "p1", "status": "rejected", "revenue": "1"})
        conversion.refresh_from_db()
        assert (conversion.approval, conversion.revenue) == ("approved", Decimal("5"))
        assert PostbackLog.objects.order_by("-id").first().outcome == "duplicate"
        assert not ConversionAdjustment.objects.exists()

    def test_without_the_requirement_it_reports_and_updates(self, make_account: Any) -> None:
        account = make_account(require_postback_token=False)
        link_id, _ = clicked(account, make_offer(account))
        pixel = f"/pixel/{link_id}.gif"
        tracking(account).get(pixel, {"txn_id": "p1", "status": "pending", "payout": "12"})
        conversion = Conversion.objects.get()
        assert (conversion.approval, conversion.payout) == ("pending", Decimal("12"))
        tracking(account).get(pixel, {"txn_id": "p1", "status": "rejected"})
        conversion.refresh_from_db()
        assert conversion.approval == "rejected"
        assert PostbackLog.objects.order_by("-id").first().outcome == "updated"
        assert ConversionAdjustment.objects.get().source == "postback"
