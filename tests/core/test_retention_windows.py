"""data_retention_days covers every click window (Account.retention_uncovered, the one
home): the account API, the offers API and both admins refuse what breaks it with a 400
(or a form error) naming the field; retention never deletes inside a window."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from core.models import Account, Offer
from tests.reporting.dataset import offer_make

pytestmark = pytest.mark.django_db


def patch(owner: Any, path: str, body: dict[str, Any]) -> Any:
    return owner.client.patch(path, body, format="json")


def test_the_account_refuses_a_retention_shorter_than_its_click_window(owner: Any) -> None:
    Account.objects.filter(pk=owner.account.pk).update(default_click_window_days=30)
    response = patch(owner, "/api/v1/account", {"data_retention_days": 29})
    assert response.status_code == 400
    assert "30 days" in response.json()["errors"]["data_retention_days"][0]
    response = patch(owner, "/api/v1/account", {"default_click_window_days": 90,
                                                  "data_retention_days": 60})  # fmt: skip
    assert list(response.json()["errors"]) == ["data_retention_days"]
    # Only the window sent: the error names the window.
    Account.objects.filter(pk=owner.account.pk).update(data_retention_days=60)
    response = patch(owner, "/api/v1/account", {"default_click_window_days": 61})
    assert list(response.json()["errors"]) == ["default_click_window_days"]
    # Both together, consistent: accepted.
    response = patch(owner, "/api/v1/account", {"default_click_window_days": 45,
                                                  "data_retention_days": 45})  # fmt: skip
    assert response.status_code == 200, response.content
    assert Account.objects.get(pk=owner.account.pk).data_retention_days == 45


def test_an_offers_window_longer_than_the_retention_is_refused(owner: Any, outsider: Any) -> None:
    Account.objects.filter(pk=owner.account.pk).update(
        data_retention_days=60, default_click_window_days=30
    )
    offer = offer_make(owner, "Long")
    response = patch(owner, f"/api/v1/offers/{offer.pk}", {"click_window_days": 61})
    assert response.status_code == 400
    assert "click_window_days" in response.json()["errors"]
    response = owner.post(
        "/api/v1/offers",
        {"name": "New", "destination_url": "https://adv.example/", "click_window_days": 90},
    )
    assert response.status_code == 400 and "click_window_days" in response.json()["errors"]
    assert patch(owner, f"/api/v1/offers/{offer.pk}", {"click_window_days": 60}).status_code == 200
    # Now the account cannot go below the offer's 60 days.
    response = patch(owner, "/api/v1/account", {"data_retention_days": 59})
    assert response.status_code == 400 and "60 days" in str(response.json())
    # Another account's offers do not bind this one.
    assert patch(outsider, "/api/v1/account", {"data_retention_days": 90}).status_code == 200


def test_the_admins_clean_holds_the_same_rule(owner: Any) -> None:
    account = Account.objects.get(pk=owner.account.pk)
    account.data_retention_days = 10
    with pytest.raises(ValidationError) as caught:
        account.clean()
    assert "data_retention_days" in caught.value.message_dict
    offer = Offer(account=account, name="x", destination_url="https://a.example/")
    offer.click_window_days = 400
    with pytest.raises(ValidationError) as caught:
        offer.clean()
    assert "click_window_days" in caught.value.message_dict
