from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.db.models import Model
from rest_framework.test import APIClient

from core.models import Campaign, Creative, InterstitialTemplate, Offer, SendingList
from tests.conftest import AccountFixture

# path, model, a valid new object, a change to make to it
RESOURCES = [
    pytest.param(
        "offers",
        Offer,
        {"name": "Spring", "destination_url": "https://adv.example/land?o={click_id}"},
        {"destination_url": "https://adv.example/new"},
        id="offers",
    ),
    pytest.param(
        "interstitials",
        InterstitialTemplate,
        {"name": "Age gate", "title": "Are you 21?"},
        {"title": "Are you 18?"},
        id="interstitials",
    ),
    pytest.param(
        "lists",
        SendingList,
        {"name": "VIP", "scanner_window_seconds": 5},
        {"bot_detection_enabled": False},
        id="lists",
    ),
    pytest.param("campaigns", Campaign, {"name": "Launch"}, {"external_id": "C-9"}, id="campaigns"),
    pytest.param("creatives", Creative, {"name": "Banner"}, {"name": "Banner B"}, id="creatives"),
]

WITH_UNIQUE_NAME = ["interstitials", "lists", "campaigns", "creatives"]
WITH_EXTERNAL_ID = ["offers", "lists", "campaigns", "creatives"]
VALID = {str(p.values[0]): dict(p.values[2]) for p in RESOURCES}  # type: ignore[arg-type]


def create(account: AccountFixture, path: str, **fields: Any) -> dict[str, Any]:
    response = account.post(f"/api/v1/{path}/", VALID[path] | fields)
    assert response.status_code == 201, response.content
    return response.json()


def patch(account: AccountFixture, path: str, pk: int, data: dict[str, Any]) -> Any:
    return account.client.patch(f"/api/v1/{path}/{pk}/", data, format="json")


def template_of(account: AccountFixture, name: str = "Gate") -> InterstitialTemplate:
    return InterstitialTemplate.objects.create(account=account.account, name=name, title="T")


@pytest.mark.parametrize(("path", "model", "valid", "change"), RESOURCES)
class TestEveryResource:
    def test_it_creates_an_object_of_the_keys_account(
        self,
        owner: AccountFixture,
        outsider: AccountFixture,
        path: str,
        model: type[Model],
        valid: dict[str, Any],
        change: dict[str, Any],
    ) -> None:
        response = owner.post(f"/api/v1/{path}/", valid)
        assert response.status_code == 201, response.content
        data = response.json()
        stored = model.objects.get(pk=data["id"])
        assert stored.account == owner.account  # type: ignore[attr-defined]
        for field, value in valid.items():
            assert data[field] == value
            assert getattr(stored, field) == value

    def test_an_account_in_the_payload_is_refused_as_unknown(
        self,
        owner: AccountFixture,
        outsider: AccountFixture,
        path: str,
        model: type[Model],
        valid: dict[str, Any],
        change: dict[str, Any],
    ) -> None:
        # `account` is not a field (the key decides): naming it is a mistake, said aloud.
        response = owner.post(f"/api/v1/{path}/", valid | {"account": outsider.account.pk})
        assert response.status_code == 400, response.content
        assert response.json()["errors"] == {"account": ["Unknown field."]}
        assert not model.objects.exists()

    def test_it_lists_only_the_accounts_own_objects(
        self,
        owner: AccountFixture,
        outsider: AccountFixture,
        path: str,
        model: type[Model],
        valid: dict[str, Any],
        change: dict[str, Any],
    ) -> None:
        mine = create(owner, path)
        create(outsider, path)
        response = owner.get(f"/api/v1/{path}/")
        assert response.status_code == 200
        assert response.json()["count"] == 1
        assert [obj["id"] for obj in response.json()["results"]] == [mine["id"]]

    def test_it_retrieves_one_object(
        self,
        owner: AccountFixture,
        path: str,
        model: type[Model],
        valid: dict[str, Any],
        change: dict[str, Any],
    ) -> None:
        created = create(owner, path)
        response = owner.get(f"/api/v1/{path}/{created['id']}/")
        assert response.status_code == 200
        assert response.json() == {key: created[key] for key in response.json()}

    def test_it_updates_an_object_with_patch(
        self,
        owner: AccountFixture,
        path: str,
        model: type[Model],
        valid: dict[str, Any],
        change: dict[str, Any],
    ) -> None:
        created = create(owner, path)
        response = patch(owner, path, created["id"], change)
        assert response.status_code == 200, response.content
        stored = model.objects.get(pk=created["id"])
        for field, value in change.items():
            assert response.json()[field] == value
            assert getattr(stored, field) == value
        assert stored.name == response.json()["name"]  # type: ignore[attr-defined]

    def test_an_outsider_gets_404_and_changes_nothing(
        self,
        owner: AccountFixture,
        outsider: AccountFixture,
        path: str,
        model: type[Model],
        valid: dict[str, Any],
        change: dict[str, Any],
    ) -> None:
        created = create(owner, path)
        assert outsider.get(f"/api/v1/{path}/{created['id']}/").status_code == 404
        assert patch(outsider, path, created["id"], change).status_code == 404
        stored = model.objects.get(pk=created["id"])
        for field, value in change.items():
            assert getattr(stored, field) != value

    def test_it_does_not_delete(
        self,
        owner: AccountFixture,
        path: str,
        model: type[Model],
        valid: dict[str, Any],
        change: dict[str, Any],
    ) -> None:
        created = create(owner, path)
        assert owner.client.delete(f"/api/v1/{path}/{created['id']}/").status_code == 405
        assert model.objects.filter(pk=created["id"]).exists()

    def test_it_needs_a_key(
        self,
        db: Any,
        path: str,
        model: type[Model],
        valid: dict[str, Any],
        change: dict[str, Any],
    ) -> None:
        client = APIClient(HTTP_HOST="localhost")
        assert client.get(f"/api/v1/{path}/").status_code == 401
        assert client.post(f"/api/v1/{path}/", valid, format="json").status_code == 401
        assert not model.objects.exists()


class TestUniqueness:
    @pytest.mark.parametrize("path", WITH_UNIQUE_NAME)
    def test_a_duplicate_name_is_a_400_not_a_500(self, owner: AccountFixture, path: str) -> None:
        create(owner, path, name="Same")
        response = owner.post(f"/api/v1/{path}/", VALID[path] | {"name": "Same"})
        assert response.status_code == 400
        assert "non_field_errors" in response.json()["errors"]

    @pytest.mark.parametrize("path", WITH_UNIQUE_NAME)
    def test_renaming_onto_a_taken_name_is_a_400(self, owner: AccountFixture, path: str) -> None:
        create(owner, path, name="Taken")
        other = create(owner, path, name="Other")
        assert patch(owner, path, other["id"], {"name": "Taken"}).status_code == 400
        assert owner.get(f"/api/v1/{path}/{other['id']}/").json()["name"] == "Other"

    @pytest.mark.parametrize("path", WITH_EXTERNAL_ID)
    def test_a_duplicate_external_id_is_a_400(self, owner: AccountFixture, path: str) -> None:
        create(owner, path, name="One", external_id="X-1")
        response = owner.post(
            f"/api/v1/{path}/", VALID[path] | {"name": "Two", "external_id": "X-1"}
        )
        assert response.status_code == 400

    @pytest.mark.parametrize("path", WITH_EXTERNAL_ID)
    def test_many_objects_may_have_no_external_id(self, owner: AccountFixture, path: str) -> None:
        create(owner, path, name="One", external_id=None)
        create(owner, path, name="Two", external_id=None)

    @pytest.mark.parametrize("path", WITH_UNIQUE_NAME)
    def test_another_account_may_use_the_same_name(
        self, owner: AccountFixture, outsider: AccountFixture, path: str
    ) -> None:
        create(owner, path, name="Same")
        create(outsider, path, name="Same")


class TestOfferSecret:
    def test_a_new_offer_shows_its_postback_secret_once(self, owner: AccountFixture) -> None:
        created = create(owner, "offers")
        secret = created["postback_secret"]
        assert isinstance(secret, str) and len(secret) >= 24
        offer = Offer.objects.get(pk=created["id"])
        assert offer.postback_secret_matches(secret)
        assert offer.postback_secret_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in offer.postback_secret_hash
        shown = owner.get(f"/api/v1/offers/{created['id']}/").json()
        listed = owner.get("/api/v1/offers/").json()["results"][0]
        for data in (shown, listed):
            assert "postback_secret" not in data
            assert "postback_secret_hash" not in data
            assert secret not in str(data)

    def test_each_offer_gets_its_own_secret(self, owner: AccountFixture) -> None:
        assert (
            create(owner, "offers")["postback_secret"] != create(owner, "offers")["postback_secret"]
        )

    def test_rotating_replaces_the_secret(self, owner: AccountFixture) -> None:
        created = create(owner, "offers")
        response = owner.post(f"/api/v1/offers/{created['id']}/rotate-secret/", {})
        assert response.status_code == 200
        new = response.json()["postback_secret"]
        offer = Offer.objects.get(pk=created["id"])
        assert new != created["postback_secret"]
        assert offer.postback_secret_matches(new)
        assert not offer.postback_secret_matches(created["postback_secret"])

    def test_an_outsider_cannot_rotate_the_secret(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        created = create(owner, "offers")
        response = outsider.post(f"/api/v1/offers/{created['id']}/rotate-secret/", {})
        assert response.status_code == 404
        assert Offer.objects.get(pk=created["id"]).postback_secret_matches(
            created["postback_secret"]
        )

    def test_a_patch_cannot_set_the_secret_hash(self, owner: AccountFixture) -> None:
        created = create(owner, "offers")
        response = patch(owner, "offers", created["id"], {"postback_secret_hash": "0" * 64})
        assert response.json()["errors"] == {"postback_secret_hash": ["Unknown field."]}
        offer = Offer.objects.get(pk=created["id"])
        assert offer.postback_secret_matches(created["postback_secret"])


class TestOfferFields:
    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"destination_url": "ftp://adv.example/"}, "destination_url"),
            ({"destination_url": "javascript:alert(1)"}, "destination_url"),
            ({"destination_url": ""}, "destination_url"),
            ({"fallback_url": "ftp://adv.example/"}, "fallback_url"),
            ({"default_payout": "-1"}, "default_payout"),
            ({"status": "deleted"}, "status"),
            ({"interstitial_mode": "popup"}, "interstitial_mode"),
            ({"click_window_days": 0}, "click_window_days"),
        ],
    )
    def test_it_names_a_bad_field(
        self, owner: AccountFixture, fields: dict[str, Any], field: str
    ) -> None:
        response = owner.post("/api/v1/offers/", VALID["offers"] | fields)
        assert response.status_code == 400
        assert field in response.json()["errors"]
        assert not Offer.objects.exists()

    def test_a_custom_interstitial_needs_a_template(self, owner: AccountFixture) -> None:
        response = owner.post("/api/v1/offers/", VALID["offers"] | {"interstitial_mode": "custom"})
        assert response.status_code == 400
        assert "interstitial_template" in response.json()["errors"]
        assert not Offer.objects.exists()

    def test_a_custom_interstitial_with_its_template_is_saved(self, owner: AccountFixture) -> None:
        template = template_of(owner)
        created = create(
            owner, "offers", interstitial_mode="custom", interstitial_template=template.pk
        )
        assert Offer.objects.get(pk=created["id"]).interstitial_template == template

    def test_a_patch_cannot_leave_a_custom_interstitial_without_a_template(
        self, owner: AccountFixture
    ) -> None:
        plain = create(owner, "offers")
        response = patch(owner, "offers", plain["id"], {"interstitial_mode": "custom"})
        assert response.status_code == 400
        custom = create(
            owner, "offers", interstitial_mode="custom", interstitial_template=template_of(owner).pk
        )
        response = patch(owner, "offers", custom["id"], {"interstitial_template": None})
        assert response.status_code == 400
        assert Offer.objects.get(pk=plain["id"]).interstitial_mode == "none"
        assert Offer.objects.get(pk=custom["id"]).interstitial_template is not None

    def test_an_outsider_cannot_use_the_owners_template(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        theirs = template_of(owner)
        response = outsider.post(
            "/api/v1/offers/",
            VALID["offers"] | {"interstitial_mode": "custom", "interstitial_template": theirs.pk},
        )
        assert response.status_code == 400
        assert "interstitial_template" in response.json()["errors"]
        assert not Offer.objects.exists()


class TestReferences:
    def test_a_list_may_default_to_the_accounts_own_template(self, owner: AccountFixture) -> None:
        template = template_of(owner)
        created = create(owner, "lists", default_interstitial=template.pk)
        assert SendingList.objects.get(pk=created["id"]).default_interstitial == template

    def test_an_outsider_list_cannot_default_to_the_owners_template(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        theirs = template_of(owner)
        response = outsider.post(
            "/api/v1/lists/", {"name": "VIP", "default_interstitial": theirs.pk}
        )
        assert response.status_code == 400
        assert "default_interstitial" in response.json()["errors"]
        assert not SendingList.objects.exists()

    def test_an_outsider_cannot_patch_its_list_onto_the_owners_template(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        theirs = template_of(owner)
        mine = create(outsider, "lists")
        response = patch(outsider, "lists", mine["id"], {"default_interstitial": theirs.pk})
        assert response.status_code == 400
        assert SendingList.objects.get(pk=mine["id"]).default_interstitial is None

    def test_a_list_becomes_a_test_list_and_back(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        created = create(owner, "lists")
        assert created["is_test"] is False
        assert patch(owner, "lists", created["id"], {"is_test": True}).json()["is_test"] is True
        assert SendingList.objects.get(pk=created["id"]).is_test is True
        assert patch(outsider, "lists", created["id"], {"is_test": False}).status_code == 404
        response = patch(owner, "lists", created["id"], {"is_test": "perhaps"})
        assert response.status_code == 400 and set(response.json()["errors"]) == {"is_test"}
        assert patch(owner, "lists", created["id"], {"is_test": False}).status_code == 200
        assert SendingList.objects.get(pk=created["id"]).is_test is False

    def test_a_creative_cannot_belong_to_another_accounts_campaign(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        theirs = Campaign.objects.create(account=owner.account, name="Launch")
        response = outsider.post("/api/v1/creatives/", {"name": "B", "campaign": theirs.pk})
        assert response.status_code == 400
        assert "campaign" in response.json()["errors"]

    def test_a_creative_may_belong_to_the_accounts_campaign(self, owner: AccountFixture) -> None:
        campaign = Campaign.objects.create(account=owner.account, name="Launch")
        created = create(owner, "creatives", campaign=campaign.pk)
        assert Creative.objects.get(pk=created["id"]).campaign == campaign


class TestUrls:
    @pytest.mark.parametrize("path", [str(p.values[0]) for p in RESOURCES])
    def test_the_documented_urls_answer_without_a_trailing_slash(
        self, owner: AccountFixture, path: str
    ) -> None:
        # README and the messages endpoints spell these without the slash; urls.py asks
        # the router for an optional one with trailing_slash="/?".
        created = create(owner, path)
        assert owner.get(f"/api/v1/{path}").status_code == 200
        assert owner.get(f"/api/v1/{path}/{created['id']}").status_code == 200
        assert owner.post(f"/api/v1/{path}", VALID[path] | {"name": "New"}).status_code == 201

    def test_rotate_secret_answers_without_a_trailing_slash(self, owner: AccountFixture) -> None:
        created = create(owner, "offers")
        response = owner.post(f"/api/v1/offers/{created['id']}/rotate-secret", {})
        assert response.status_code == 200
