"""One conversion through the API (attribution/api.py): GET with its adjustments (`read`),
PATCH a person's correction (`config`), kept as an adjustment by attribution.adjustments;
and the conversion list's `?approval=` filter and its approval and payout."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from attribution.models import Conversion, ConversionAdjustment
from core import bounds
from core.models import ApiKey
from tests.helpers import clicked, make_offer, tracking

pytestmark = pytest.mark.django_db


def stored(account: Any, **params: str) -> Conversion:
    """A conversion credited through a postback."""
    offer = make_offer(account, revenue_cap=Decimal("1000"))
    _, click_id = clicked(account, offer)
    response = tracking(account).get(
        "/conv", {"token": account.postback_token, "click_id": click_id, **params}
    )
    assert response.status_code == 200, response.content
    return Conversion.objects.get(pk=response.json()["conversion_id"])


def client_with(account: Any, *scopes: str) -> tuple[APIClient, ApiKey]:
    key, raw = ApiKey.generate(account=account.account, scopes=list(scopes))
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client, key


def patch(client: APIClient, conversion_id: int, body: Any) -> Any:
    return client.patch(f"/api/v1/conversions/{conversion_id}", body, format="json")


class TestGet:
    def test_it_shows_the_conversion_with_its_adjustments_oldest_first(self, owner: Any) -> None:
        conversion = stored(owner, txn_id="t1", revenue="100", payout="10", status="pending")
        tracking(owner).get("/conv", {"token": owner.postback_token, "txn_id": "t1",
                                      "click_id": conversion.reported_click_id,
                                      "status": "approved"})  # fmt: skip
        config, _ = client_with(owner, "config")
        patch(config, conversion.pk, {"revenue": "80.5", "reason": "partial refund"})
        reader, _ = client_with(owner, "read")
        response = reader.get(f"/api/v1/conversions/{conversion.pk}")
        assert response.status_code == 200
        body = response.json()
        assert (body["id"], body["txn_id"], body["approval"]) == (conversion.pk, "t1", "approved")
        assert (body["revenue"], body["payout"]) == ("80.50", "10.00")
        assert body["attribution_type"] == "click_through"
        assert body["click_id"] == conversion.reported_click_id
        first, second = body["adjustments"]
        assert first["source"] == "postback"
        assert first["approval"] == {"before": "pending", "after": "approved"}
        assert second["source"] == "api" and second["reason"] == "partial refund"
        assert second["revenue"] == {"before": "100.0000", "after": "80.5000",
                                     "change": "-19.5000"}  # fmt: skip
        assert second["payout"]["change"] == "0.0000"

    def test_another_accounts_conversion_is_404(self, owner: Any, outsider: Any) -> None:
        conversion = stored(owner)
        reader, _ = client_with(outsider, "read", "config")
        assert reader.get(f"/api/v1/conversions/{conversion.pk}").status_code == 404
        assert patch(reader, conversion.pk, {"approval": "rejected"}).status_code == 404
        conversion.refresh_from_db()
        assert conversion.approval == "approved"

    def test_a_mint_key_may_not_read_it(self, owner: Any) -> None:
        conversion = stored(owner)
        minter, _ = client_with(owner, "mint")
        assert minter.get(f"/api/v1/conversions/{conversion.pk}").status_code == 403


class TestPatch:
    def test_it_changes_approval_and_amounts_and_keeps_the_adjustment(self, owner: Any) -> None:
        conversion = stored(owner, revenue="100")
        config, key = client_with(owner, "config")
        response = patch(
            config, conversion.pk,
            {"approval": "reversed", "revenue": "0", "payout": "0.00", "reason": "chargeback"},
        )  # fmt: skip
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["approval"], body["revenue"], body["payout"]) == ("reversed", "0.00", "0.00")
        assert len(body["adjustments"]) == 1
        conversion.refresh_from_db()
        assert (conversion.approval, conversion.revenue, conversion.payout) == (
            "reversed", Decimal("0"), Decimal("0"),
        )  # fmt: skip
        adjustment = ConversionAdjustment.objects.get()
        assert (adjustment.source, adjustment.reason, adjustment.actor) == (
            "api", "chargeback", f"key {key.prefix}",
        )  # fmt: skip
        assert adjustment.revenue_change == Decimal("-100")

    def test_one_that_changes_nothing_answers_200_and_keeps_no_adjustment(self, owner: Any) -> None:
        conversion = stored(owner, revenue="100")
        config, _ = client_with(owner, "config")
        response = patch(config, conversion.pk, {"approval": "approved", "revenue": "100.00"})
        assert response.status_code == 200
        assert response.json()["adjustments"] == []
        assert not ConversionAdjustment.objects.exists()

    def test_a_read_key_may_not_change_it(self, owner: Any) -> None:
        conversion = stored(owner)
        reader, _ = client_with(owner, "read")
        assert patch(reader, conversion.pk, {"approval": "rejected"}).status_code == 403
        assert not ConversionAdjustment.objects.exists()

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"approval": "rejected", "status": "accepted"}, "status"),
            ({"approval": "rejected", "txn_id": "x"}, "txn_id"),
            ({"approval": "invalid"}, "approval"),
            ({"revenue": "-1"}, "revenue"),
            ({"payout": "lots"}, "payout"),
            ({"payout": "1.00001"}, "payout"),
            ({"reason": "no figures"}, "approval"),
            ({}, "approval"),
            ({"approval": "rejected", "reason": "x" * (bounds.MAX_ADJUSTMENT_REASON_LENGTH + 1)},
             "reason"),
        ],
    )  # fmt: skip
    def test_bad_input_is_a_400_naming_the_field(
        self, owner: Any, body: dict[str, Any], field: str
    ) -> None:
        conversion = stored(owner)
        config, _ = client_with(owner, "config")
        response = patch(config, conversion.pk, body)
        assert response.status_code == 400, response.content
        assert field in response.json()["errors"]
        assert not ConversionAdjustment.objects.exists()

    def test_an_amount_above_the_offers_cap_is_a_400_naming_it(self, owner: Any) -> None:
        conversion = stored(owner)  # the offer's cap: 1000
        config, _ = client_with(owner, "config")
        response = patch(config, conversion.pk, {"payout": "1000.01"})
        assert response.status_code == 400
        assert "revenue cap" in response.json()["errors"]["payout"][0]
        assert not ConversionAdjustment.objects.exists()


class TestTheList:
    def test_it_filters_by_approval_and_shows_approval_and_payout(self, owner: Any) -> None:
        approved = stored(owner, txn_id="a", revenue="10", payout="2")
        stored(owner, txn_id="p", status="pending")
        response = owner.get("/api/v1/conversions", approval="approved")
        assert response.status_code == 200
        (row,) = response.json()["results"]
        assert (row["id"], row["approval"], row["revenue"], row["payout"]) == (
            approved.pk, "approved", "10.00", "2.00",
        )  # fmt: skip
        pending = owner.get("/api/v1/conversions", approval="pending").json()["results"]
        assert [r["txn_id"] for r in pending] == ["p"]
        assert len(owner.get("/api/v1/conversions").json()["results"]) == 2

    def test_an_unknown_approval_is_a_400_naming_it(self, owner: Any) -> None:
        response = owner.get("/api/v1/conversions", approval="maybe")
        assert response.status_code == 400
        assert "approval" in response.json()["errors"]


def test_the_schema_documents_get_and_patch(owner: Any) -> None:
    schema = APIClient(HTTP_HOST="localhost").get("/api/v1/schema/", {"format": "json"}).json()
    operations = schema["paths"]["/api/v1/conversions/{id}/"]
    assert {"get", "patch"} <= set(operations)
    parameters = schema["paths"]["/api/v1/conversions/"]["get"]["parameters"]
    assert "approval" in {p["name"] for p in parameters}
