"""Sending costs in the account settings API: sms_segment_cost, sms_rates, email_cost."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from core.models import Account
from tests.core.test_api_account import keyed, patch

pytestmark = pytest.mark.django_db


def test_they_read_as_strings_defaulting_to_zero(owner: Any) -> None:
    body = owner.get("/api/v1/account").json()
    assert (body["sms_segment_cost"], body["sms_rates"], body["email_cost"]) == (
        "0.0000",
        {},
        "0.0000",
    )


def test_a_patch_sets_them(owner: Any) -> None:
    response = patch(
        owner,
        {
            "sms_segment_cost": "0.0100",
            "sms_rates": {"US": "0.0079", "GB": 1},
            "email_cost": "0.001",
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["sms_segment_cost"] == "0.0100"
    assert body["sms_rates"] == {"US": "0.0079", "GB": "1.0000"}
    assert body["email_cost"] == "0.0010"
    account = Account.objects.get(pk=owner.account.pk)
    assert account.sms_segment_cost == Decimal("0.0100")
    assert account.sms_rates == {"US": "0.0079", "GB": "1.0000"}
    assert account.email_cost == Decimal("0.0010")
    # What the next mint pays.
    minted = owner.mint(contact={"phone": "+14155550123"}, body="Hi")
    assert minted["cost"] == "0.0079"


@pytest.mark.parametrize(
    "field, value",
    [
        ("sms_segment_cost", "-0.01"),
        ("sms_segment_cost", 0.01),
        ("sms_segment_cost", "ten"),
        ("sms_segment_cost", "99999999999"),
        ("email_cost", None),
        ("email_cost", True),
        ("sms_rates", ["US"]),
        ("sms_rates", {"us": "0.01"}),
        ("sms_rates", {"XX": "0.01"}),
        ("sms_rates", {"US": "-1"}),
        (
            "sms_rates",
            {f"{a}{b}": "0.01" for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" for b in "ABCDEFGHIJ"},
        ),
    ],
)
def test_a_bad_value_is_a_400_naming_the_field(owner: Any, field: str, value: Any) -> None:
    response = patch(owner, {field: value})
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [field]
    account = Account.objects.get(pk=owner.account.pk)
    assert (account.sms_segment_cost, account.sms_rates, account.email_cost) == (0, {}, 0)


def test_an_unknown_field_is_refused(owner: Any) -> None:
    response = patch(owner, {"sms_cost": "0.01"})
    assert response.status_code == 400
    assert "sms_cost" in response.json()["errors"]


def test_a_read_key_cannot_change_them(owner: Any) -> None:
    response = keyed(owner, ["read"]).patch("/api/v1/account", {"email_cost": "1"}, format="json")
    assert response.status_code == 403
    assert Account.objects.get(pk=owner.account.pk).email_cost == 0


def test_another_accounts_settings_are_untouched(owner: Any, outsider: Any) -> None:
    patch(owner, {"sms_segment_cost": "0.5"})
    assert outsider.get("/api/v1/account").json()["sms_segment_cost"] == "0.0000"
