"""The configuration API holds dates, windows and money to core.bounds: a value past
them is a 400 naming the field, never a 500, and nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import Account, Offer, SendingList
from tests.conftest import AccountFixture

OFFER = {"name": "Spring", "destination_url": "https://adv.example/land"}

PAST_THE_BOUNDS = [
    pytest.param("expires_at", "0001-01-01T00:00:00Z", id="expires-year-1"),
    pytest.param("expires_at", "1999-12-31T23:59:59Z", id="expires-1999"),
    pytest.param("expires_at", "0001-01-01T00:00:00+01:00", id="expires-before-year-1-in-utc"),
    pytest.param("expires_at", "9999-12-31T23:59:59-01:00", id="expires-after-9999-in-utc"),
    pytest.param("click_window_days", 0, id="window-0"),
    pytest.param("click_window_days", 3651, id="window-3651"),
    pytest.param("click_window_days", 10**30, id="window-huge"),
    pytest.param("click_window_days", "ninety", id="window-not-a-number"),
    pytest.param("default_payout", "10000000000", id="payout-11-digits"),
    pytest.param("default_payout", "1.00001", id="payout-5-places"),
    pytest.param("default_payout", "1e20", id="payout-exponent"),
    pytest.param("default_payout", "NaN", id="payout-nan"),
    pytest.param("default_payout", "-1", id="payout-negative"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value"), PAST_THE_BOUNDS)
def test_an_offer_past_the_bounds_is_a_400_naming_the_field(
    owner: AccountFixture, field: str, value: Any
) -> None:
    owner.client.raise_request_exception = False
    response = owner.post("/api/v1/offers", OFFER | {field: value})
    assert response.status_code == 400, response.content[:300]
    assert list(response.json()["errors"]) == [field]
    assert not Offer.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "value"), PAST_THE_BOUNDS)
def test_an_offer_changed_past_the_bounds_is_a_400_and_unchanged(
    owner: AccountFixture, field: str, value: Any
) -> None:
    created = owner.post("/api/v1/offers", OFFER).json()
    owner.client.raise_request_exception = False
    response = owner.client.patch(f"/api/v1/offers/{created['id']}", {field: value}, format="json")
    assert response.status_code == 400, response.content[:300]
    assert list(response.json()["errors"]) == [field]
    offer = Offer.objects.get()
    assert (offer.expires_at, offer.click_window_days, str(offer.default_payout)) == (
        None,
        None,
        "0.0000",
    )


@pytest.mark.django_db
def test_the_edges_of_the_bounds_are_stored(owner: AccountFixture) -> None:
    # The account keeps raw clicks as long as the window (Account.retention_uncovered).
    Account.objects.filter(pk=owner.account.pk).update(data_retention_days=3650)
    response = owner.post(
        "/api/v1/offers",
        OFFER
        | {
            "expires_at": "2000-01-01T00:00:00Z",
            "click_window_days": 3650,
            "default_payout": "9999999999.9999",
        },
    )
    assert response.status_code == 201, response.content
    offer = Offer.objects.get()
    assert (offer.click_window_days, str(offer.default_payout)) == (3650, "9999999999.9999")


@pytest.mark.django_db
def test_a_lists_scanner_window_past_what_its_column_holds_is_a_400(owner: AccountFixture) -> None:
    owner.client.raise_request_exception = False
    response = owner.post("/api/v1/lists", {"name": "VIP", "scanner_window_seconds": 10**20})
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["scanner_window_seconds"]
    assert not SendingList.objects.exists()
