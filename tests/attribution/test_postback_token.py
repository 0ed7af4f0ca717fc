"""Postbacks that can be trusted: /conv takes the account's postback token when the account
requires one; the pixel, which sits in public page source, never takes it, and under the
requirement reports no figures of its own (attribution/views.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from attribution.models import Conversion, PostbackLog
from core.models import Account
from tests.helpers import clicked, make_offer, tracking

pytestmark = pytest.mark.django_db


class TestConv:
    @pytest.mark.parametrize("token", [None, "", "pbt_wrong", "x" * 300])
    def test_without_the_right_token_it_is_a_403_naming_token_logged_as_rejected(
        self, owner: Any, token: str | None
    ) -> None:
        link_id, click_id = clicked(owner)
        params = {"click_id": click_id, "revenue": "9999999999"}
        if token is not None:
            params["token"] = token
        response = tracking(owner).get("/conv", params)
        assert response.status_code == 403
        assert response.json()["field"] == "token"
        log = PostbackLog.objects.get()
        assert (log.outcome, log.http_status) == ("rejected", 403)
        assert "token" in log.reason
        assert not Conversion.objects.exists()

    def test_the_link_id_of_an_sms_no_longer_reports_revenue(self, owner: Any) -> None:
        link_id, _ = clicked(owner)
        response = tracking(owner).get("/conv", {"link_id": link_id, "revenue": "9999999999"})
        assert response.status_code == 403 and not Conversion.objects.exists()

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_with_the_token_in_the_query_or_a_form_it_is_accepted(
        self, owner: Any, method: str
    ) -> None:
        _, click_id = clicked(owner)
        params = {"click_id": click_id, "revenue": "12.50", "token": owner.postback_token}
        if method == "get":
            response = tracking(owner).get("/conv", params)
        else:
            response = tracking(owner).post("/conv", params)  # multipart/form-data
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "accepted"
        assert Conversion.objects.get().revenue == Decimal("12.50")

    def test_parameters_a_network_appends_of_its_own_are_never_refused(self, owner: Any) -> None:
        # Networks add their own (TUNE's aff_sub2, Everflow's sub5...): unknown is not bad.
        _, click_id = clicked(owner)
        params = {"click_id": click_id, "token": owner.postback_token, "txn_id": "t-extra",
                  "aff_sub2": "x", "payout_type": "cpa", "utm_source": "net"}  # fmt: skip
        response = tracking(owner).get("/conv", params)
        assert response.status_code == 200, response.content
        assert response.json()["status"] == "accepted"
        assert Conversion.objects.filter(txn_id="t-extra").count() == 1

    def test_another_accounts_token_is_refused(self, owner: Any, outsider: Any) -> None:
        _, click_id = clicked(owner)
        response = tracking(owner).get(
            "/conv", {"click_id": click_id, "token": outsider.postback_token}
        )
        assert response.status_code == 403 and not Conversion.objects.exists()

    def test_an_account_without_the_requirement_takes_postbacks_without_a_token(
        self, make_account: Any
    ) -> None:
        account = make_account(require_postback_token=False)  # as accounts made before it
        _, click_id = clicked(account)
        response = tracking(account).get("/conv", {"click_id": click_id, "revenue": "3"})
        assert response.status_code == 200 and response.json()["status"] == "accepted"

    def test_a_new_account_requires_the_token(self) -> None:
        assert Account(name="New").require_postback_token is True

    def test_the_token_is_checked_with_no_query_on_the_fast_path(self, owner: Any) -> None:
        offer = make_offer(owner)
        _, click_id = clicked(owner, offer)
        client = tracking(owner)
        client.get("/conv", {"click_id": click_id, "token": owner.postback_token})  # warm
        with CaptureQueriesContext(connection) as queries:
            accepted = client.get(
                "/conv", {"click_id": click_id, "token": owner.postback_token, "txn_id": "t"}
            )
            refused = client.get("/conv", {"click_id": click_id, "token": "pbt_no"})
        assert accepted.json()["status"] == "accepted" and refused.status_code == 403
        # Through the ORM: only the refused one's log close (its log row is a prepared
        # INSERT, the credited one's two statements prepared ones).
        assert [q["sql"].split()[0] for q in queries.captured_queries] == ["UPDATE"]

    def test_a_rotated_token_works_at_once_and_the_old_one_no_longer(self, owner: Any) -> None:
        _, click_id = clicked(owner)
        client = tracking(owner)
        old = owner.postback_token
        assert client.get("/conv", {"click_id": click_id, "token": old}).status_code == 200
        response = owner.client.post("/api/v1/account/rotate-postback-token")
        new = response.json()["postback_token"]
        assert client.get("/conv", {"click_id": click_id, "token": old}).status_code == 403
        assert client.get("/conv", {"click_id": click_id, "token": new}).status_code == 200

    def test_turning_the_requirement_off_is_seen_at_once(self, owner: Any) -> None:
        _, click_id = clicked(owner)
        client = tracking(owner)
        assert client.get("/conv", {"click_id": click_id}).status_code == 403  # domain cached
        patched = owner.client.patch(
            "/api/v1/account", {"require_postback_token": False}, format="json"
        )
        assert patched.status_code == 200
        assert client.get("/conv", {"click_id": click_id}).status_code == 200

    def test_conv_offer_keeps_the_offers_secret_and_needs_no_token(self, owner: Any) -> None:
        offer = make_offer(owner)
        secret = offer.rotate_postback_secret()
        offer.save()
        response = tracking(owner).get(
            "/conv/offer", {"offer_id": offer.pk, "secret": secret, "revenue": "5"}
        )
        assert response.status_code == 200 and response.json()["status"] == "accepted"
        token_only = tracking(owner).get(
            "/conv/offer", {"offer_id": offer.pk, "token": owner.postback_token}
        )
        assert token_only.status_code == 403 and token_only.json()["field"] == "secret"


class TestPixelUnderTheRequirement:
    def test_it_records_the_offers_default_payout_whatever_revenue_it_reports(
        self, owner: Any
    ) -> None:
        offer = make_offer(owner, default_payout=Decimal("12.50"))
        link_id, _ = clicked(owner, offer)
        response = tracking(owner).get(
            f"/pixel/{link_id}.gif", {"revenue": "9999999999", "currency": "EUR", "txn_id": "p"}
        )
        assert response.status_code == 200 and response["Content-Type"] == "image/gif"
        conversion = Conversion.objects.get()
        assert (conversion.revenue, conversion.currency) == (Decimal("12.50"), "USD")
        assert conversion.revenue_reported is False
        assert conversion.message_click is not None  # still credited to the click

    def test_the_token_does_not_make_it_trusted(self, owner: Any) -> None:
        offer = make_offer(owner, default_payout=Decimal("2"))
        link_id, _ = clicked(owner, offer)
        tracking(owner).get(
            f"/pixel/{link_id}.gif", {"revenue": "500", "token": owner.postback_token}
        )
        assert Conversion.objects.get().revenue == Decimal("2")

    def test_a_bad_revenue_it_reports_is_ignored_not_refused(self, owner: Any) -> None:
        offer = make_offer(owner, default_payout=Decimal("2"))
        link_id, _ = clicked(owner, offer)
        tracking(owner).get(f"/pixel/{link_id}.gif", {"revenue": "lots", "currency": "dollars"})
        assert PostbackLog.objects.get().outcome == "accepted"
        assert Conversion.objects.get().revenue == Decimal("2")

    def test_it_never_changes_a_stored_conversion(self, owner: Any) -> None:
        offer = make_offer(owner, default_payout=Decimal("2"))
        link_id, click_id = clicked(owner, offer)
        tracking(owner).get(
            "/conv",
            {"click_id": click_id, "txn_id": "o-1", "revenue": "40", "token": owner.postback_token},
        )
        tracking(owner).get(f"/pixel/{link_id}.gif", {"txn_id": "o-1", "revenue": "1"})
        conversion = Conversion.objects.get()
        assert conversion.revenue == Decimal("40")
        assert list(PostbackLog.objects.order_by("id").values_list("outcome", flat=True)) == [
            "accepted",
            "duplicate",
        ]

    def test_without_the_requirement_its_revenue_counts(self, make_account: Any) -> None:
        account = make_account(require_postback_token=False)
        offer = make_offer(account, default_payout=Decimal("2"))
        link_id, _ = clicked(account, offer)
        tracking(account).get(f"/pixel/{link_id}.gif", {"revenue": "7.25"})
        assert Conversion.objects.get().revenue == Decimal("7.25")
