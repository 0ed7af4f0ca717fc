"""Every API list pages by `limit` (at most 1,000) and `offset` (at most 1,000,000); a
value past them, or not a whole number, is a 400 naming it."""

from __future__ import annotations

from typing import Any

import pytest

from core.models import Campaign
from tests.conftest import AccountFixture
from trackly.urls import router


def list_paths() -> list[str]:
    """Every list endpoint: each routed viewset that lists, and the conversions."""
    routed = [
        f"/api/v1/{prefix}" for prefix, viewset, _ in router.registry if hasattr(viewset, "list")
    ]
    return [*routed, "/api/v1/conversions"]


LIST_PATHS = list_paths()


def test_the_routed_lists_are_all_found() -> None:
    assert {"/api/v1/offers", "/api/v1/interstitials", "/api/v1/lists", "/api/v1/campaigns",
            "/api/v1/creatives", "/api/v1/conversions"} <= set(LIST_PATHS)  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("path", LIST_PATHS)
@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"limit": "1001"}, "limit", "Must be from 1 to 1,000."),
        ({"limit": "0"}, "limit", "Must be from 1 to 1,000."),
        ({"limit": "1" + "0" * 30}, "limit", "Must be from 1 to 1,000."),
        ({"limit": "ten"}, "limit", "Must be a whole number."),
        ({"limit": "-1"}, "limit", "Must be a whole number."),
        ({"limit": "²"}, "limit", "Must be a whole number."),
        ({"offset": "1000001"}, "offset", None),
        ({"offset": "9" * 5000}, "offset", None),
        ({"offset": "x"}, "offset", "Must be a whole number."),
    ],
    ids=lambda v: str(v)[:24] if not isinstance(v, dict) else next(iter(v)),
)
def test_a_page_past_the_bounds_is_a_400_naming_it(
    owner: AccountFixture, path: str, params: dict[str, str], field: str, message: str | None
) -> None:
    Campaign.objects.create(account=owner.account, name="One")
    owner.client.raise_request_exception = False
    response = owner.get(path, **params)
    assert response.status_code == 400, response.content[:300]
    errors = response.json()["errors"]
    assert list(errors) == [field]
    if message:
        assert errors[field] == [message]


@pytest.mark.django_db
@pytest.mark.parametrize("path", LIST_PATHS)
def test_the_largest_page_furthest_in_is_served(owner: AccountFixture, path: str) -> None:
    response = owner.get(path, limit="1000", offset="1000000")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["results"] == []


@pytest.mark.django_db
def test_a_huge_limit_with_rows_to_page_is_a_400_not_a_500(owner: AccountFixture) -> None:
    # With a row to page, DRF took the limit to PostgreSQL, which refused it (a 500).
    Campaign.objects.create(account=owner.account, name="One")
    owner.client.raise_request_exception = False
    response = owner.get("/api/v1/campaigns", limit="1" + "0" * 30)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["limit"]


@pytest.mark.django_db
def test_paging_without_parameters_is_as_before(owner: AccountFixture) -> None:
    for n in range(3):
        Campaign.objects.create(account=owner.account, name=f"C{n}")
    body: Any = owner.get("/api/v1/campaigns", limit="2").json()
    assert body["count"] == 3 and len(body["results"]) == 2
    assert body["next"].endswith("/api/v1/campaigns?limit=2&offset=2")
    assert len(owner.get("/api/v1/campaigns").json()["results"]) == 3
