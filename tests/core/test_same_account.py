"""Related objects belong to their object's account (core.models.related_in_same_account):
Django admin, whose forms offer every account a staff user configures, cannot pair one
account's offer with another's template."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client

from core.models import (
    Campaign,
    Contact,
    Creative,
    InterstitialTemplate,
    Message,
    Offer,
    SendingList,
)

pytestmark = pytest.mark.django_db


def template_of(account: Any) -> InterstitialTemplate:
    return InterstitialTemplate.objects.create(account=account.account, name="t", title="t")


def test_an_offer_with_another_accounts_template_is_refused(owner: Any, outsider: Any) -> None:
    offer = Offer(
        account=owner.account, name="O", destination_url="https://a.example/",
        interstitial_mode="custom", interstitial_template=template_of(outsider),
    )  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        offer.full_clean(exclude=["postback_secret_hash"])
    assert caught.value.message_dict["interstitial_template"] == ["Belongs to another account."]


def test_a_message_list_creative_of_another_account_are_refused(owner: Any, outsider: Any) -> None:
    theirs = outsider.account
    message = Message(
        account=owner.account, body="b", rewritten_body="b",
        contact=Contact.objects.create(account=theirs, external_id="c"),
        sending_list=SendingList.objects.create(account=theirs, name="L"),
        campaign=Campaign.objects.create(account=theirs, name="C"),
        creative=Creative.objects.create(account=theirs, name="R"),
    )  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        message.full_clean()
    assert set(caught.value.message_dict) >= {"contact", "sending_list", "campaign", "creative"}
    creative = Creative(account=owner.account, name="R", campaign=message.campaign)
    with pytest.raises(ValidationError):
        creative.full_clean()
    listed = SendingList(
        account=owner.account, name="L", default_interstitial=template_of(outsider)
    )
    with pytest.raises(ValidationError):
        listed.full_clean()


def test_the_admin_refuses_the_pairing_even_for_a_superuser(owner: Any, outsider: Any) -> None:
    get_user_model().objects.create_superuser("root", "r@example.com", "pw-long-enough-1")
    client = Client(HTTP_HOST="localhost")
    client.login(username="root", password="pw-long-enough-1")  # noqa: S106
    response = client.post("/admin/core/offer/add/", {
        "account": owner.account.pk, "name": "X", "status": "active",
        "destination_url": "https://a.example/", "click_param": "click_id",
        "interstitial_mode": "custom", "interstitial_template": template_of(outsider).pk,
        "default_payout": "0",
    })  # fmt: skip
    assert response.status_code == 200  # the form again, with its error
    assert b"Belongs to another account." in response.content
    assert not Offer.objects.exists()
