"""What a minted message cost: the account's rule (core.costs) fixed at mint, or the cost the
item gives."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import Account, Message
from tests.conftest import AccountFixture

US = "+14155550123"
GB = "+447400123456"
DE = "+4915123456789"
LONG = "a" * 150 + " https://shop.example/x"  # two segments once rewritten


@pytest.fixture
def priced(owner: AccountFixture) -> AccountFixture:
    Account.objects.filter(pk=owner.account.pk).update(
        sms_segment_cost=Decimal("0.0100"),
        sms_rates={"US": "0.0079", "GB": "0.0350"},
        email_cost=Decimal("0.0012"),
    )
    return owner


def sms(phone: str, body: str = "Hi https://shop.example/", **fields: Any) -> dict[str, Any]:
    return {"contact": {"phone": phone}, "body": body} | fields


def stored_cost(result: dict[str, Any]) -> Decimal:
    return Message.objects.get(pk=result["id"]).cost


class TestTheRule:
    def test_an_sms_costs_the_rate_of_its_phones_country(self, priced: AccountFixture) -> None:
        us, gb = priced.mint(**sms(US)), priced.mint(**sms(GB))
        assert (us["cost"], stored_cost(us)) == ("0.0079", Decimal("0.0079"))
        assert (gb["cost"], stored_cost(gb)) == ("0.0350", Decimal("0.0350"))

    def test_a_country_without_a_rate_pays_the_segment_cost(self, priced: AccountFixture) -> None:
        de = priced.mint(**sms(DE))
        no_phone = priced.mint(contact={"external_id": "x"}, body="Hi")
        assert de["cost"] == no_phone["cost"] == "0.0100"

    def test_each_segment_is_paid_for(self, priced: AccountFixture) -> None:
        result = priced.mint(**sms(GB, LONG))
        assert result["segments"] == 2
        assert result["cost"] == "0.0700"  # 2 x 0.0350
        assert stored_cost(result) == Decimal("0.0700")

    def test_an_email_costs_the_email_cost(self, priced: AccountFixture) -> None:
        result = priced.mint(
            contact={"phone": GB, "email": "a@example.com"},
            channel="email",
            body='<a href="https://shop.example/">x</a>',
        )
        assert result["cost"] == "0.0012"

    def test_the_stored_phone_prices_an_item_without_one(self, priced: AccountFixture) -> None:
        priced.mint(contact={"external_id": "ann", "phone": GB}, body="first")
        again = priced.mint(contact={"external_id": "ann"}, body="second")
        assert again["cost"] == "0.0350"

    def test_it_is_fixed_at_mint(self, priced: AccountFixture) -> None:
        result = priced.mint(**sms(US))
        Account.objects.filter(pk=priced.account.pk).update(sms_rates={"US": "0.5000"})
        assert stored_cost(result) == Decimal("0.0079")
        assert priced.get(f"/api/v1/messages/{result['id']}").json()["cost"] == "0.0079"

    def test_an_account_without_costs_pays_nothing(self, owner: AccountFixture) -> None:
        assert owner.mint(**sms(US))["cost"] == "0.0000"


class TestOverride:
    def test_the_items_cost_wins(self, priced: AccountFixture) -> None:
        result = priced.mint(**sms(US, cost="0.25"))
        assert (result["cost"], stored_cost(result)) == ("0.2500", Decimal("0.2500"))

    def test_a_zero_cost_is_kept(self, priced: AccountFixture) -> None:
        assert priced.mint(**sms(US, cost="0"))["cost"] == "0.0000"

    @pytest.mark.parametrize("bad", ["-1", "abc", 0.5, True, "10000000000", {"x": 1}])
    def test_a_bad_cost_is_refused_by_name(self, priced: AccountFixture, bad: Any) -> None:
        response = priced.post("/api/v1/messages", sms(US, cost=bad))
        assert response.status_code == 400, response.content
        assert list(response.json()["errors"]) == ["cost"]
        assert not Message.objects.exists()


class TestBulk:
    def test_each_item_is_priced_without_a_query_per_item(self, priced: AccountFixture) -> None:
        def batch(n: int, prefix: str) -> list[dict[str, Any]]:
            phones = [US, GB, DE]
            return [
                sms(f"{phones[i % 3][:-3]}{i:03d}", external_id=f"{prefix}{i}") for i in range(n)
            ]

        priced.post("/api/v1/messages/bulk", batch(1, "w"))  # the key's first use noted
        with CaptureQueriesContext(connection) as few:
            small = priced.post("/api/v1/messages/bulk", batch(3, "s"))
        with CaptureQueriesContext(connection) as many:
            large = priced.post("/api/v1/messages/bulk", batch(60, "l"))
        assert small.status_code == large.status_code == 201
        assert len(many.captured_queries) == len(few.captured_queries)
        costs = [m["cost"] for m in large.json()]
        assert costs[:4] == ["0.0079", "0.0350", "0.0100", "0.0079"]
        assert costs[5] == "0.0100"

    def test_an_override_applies_to_its_item_only(self, priced: AccountFixture) -> None:
        response = priced.post("/api/v1/messages/bulk", [sms(US, cost="1.5"), sms(US)])
        assert [m["cost"] for m in response.json()] == ["1.5000", "0.0079"]

    def test_a_bad_cost_names_its_item(self, priced: AccountFixture) -> None:
        response = priced.post("/api/v1/messages/bulk", [sms(US), sms(US, cost="-2")])
        assert response.status_code == 400
        (error,) = response.json()["errors"]
        assert (error["index"], list(error["errors"])) == (1, ["cost"])
        assert not Message.objects.exists()
