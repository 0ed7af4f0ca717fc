"""UriField stores every URL as a URI (core.fields), whichever way it is written."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client

from core.models import Offer, TrackingDomain

pytestmark = pytest.mark.django_db

IRI = "https://例え.jp/パス?c={click_id}"
URI = "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9?c={click_id}"


def offer_of(owner: Any, **fields: Any) -> Offer:
    offer = Offer(account=owner.account, name="O", destination_url=IRI, **fields)
    offer.rotate_postback_secret()
    return offer


def test_saving_stores_the_uri_and_the_object_holds_it(owner: Any) -> None:
    offer = offer_of(owner, fallback_url="https://bücher.de/")
    offer.save()
    assert offer.destination_url == URI
    stored = Offer.objects.values_list("destination_url", "fallback_url").get()
    assert stored == (URI, "https://xn--bcher-kva.de/")


def test_update_and_lookups_convert_too(owner: Any) -> None:
    offer_of(owner).save()
    Offer.objects.update(fallback_url="https://shop.example/€")
    assert Offer.objects.get().fallback_url == "https://shop.example/%E2%82%AC"
    assert Offer.objects.filter(destination_url=IRI).exists()


def test_validation_refuses_a_host_that_is_no_domain_name(owner: Any) -> None:
    offer = offer_of(owner)
    offer.destination_url = "https://😀.example/"
    with pytest.raises(ValidationError) as caught:
        offer.full_clean()
    assert "destination_url" in caught.value.message_dict


@pytest.mark.parametrize("url", ["https://a.example/x\x01y", "https://a.example/a b\x7f"])
def test_validation_refuses_spaces_and_control_characters(owner: Any, url: str) -> None:
    offer = offer_of(owner)
    offer.fallback_url = url
    with pytest.raises(ValidationError) as caught:
        offer.full_clean()
    assert "fallback_url" in caught.value.message_dict


@pytest.mark.parametrize("field", ["destination_url", "fallback_url"])
def test_the_offers_api_refuses_them_naming_the_field(owner: Any, field: str) -> None:
    body = {"name": "O", "destination_url": "https://a.example/", field: "https://a.example/x\x01y"}
    response = owner.post("/api/v1/offers", body)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not Offer.objects.exists()


def test_the_length_limit_applies_to_the_uri(owner: Any) -> None:
    offer = offer_of(owner)
    offer.destination_url = "https://a.example/" + "é" * 600  # 618 characters, 3,618 as a URI
    with pytest.raises(ValidationError) as caught:
        offer.full_clean()
    assert "destination_url" in caught.value.message_dict


def test_an_admin_saving_a_fallback_iri_stores_its_uri(owner: Any) -> None:
    admin = get_user_model().objects.create_superuser("root", "r@example.com", "pw-long-enough")
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    response = client.post(
        "/admin/core/trackingdomain/add/",
        {
            "account": owner.account.pk,
            "host": "go2.owner.example",
            "https": "on",
            "fallback_url": "https://bücher.example/Sale",
            "is_active": "on",
            "created_at_0": "2026-01-01",
            "created_at_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    domain = TrackingDomain.objects.get(host="go2.owner.example")
    assert domain.fallback_url == "https://xn--bcher-kva.example/Sale"


def test_adopting_the_field_needs_no_migration() -> None:
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
