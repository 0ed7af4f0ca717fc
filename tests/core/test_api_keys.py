"""/api/v1/api-keys: list, issue (shown once, only scopes the caller holds), revoke."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from core.models import ApiKey, hash_secret
from tests.conftest import AccountFixture

pytestmark = pytest.mark.django_db


def keyed(raw: str) -> APIClient:
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def key_with(account: AccountFixture, scopes: list[str]) -> tuple[ApiKey, APIClient]:
    key, raw = ApiKey.generate(account=account.account, name="scoped", scopes=scopes)
    return key, keyed(raw)


def issue(client: APIClient, **body: Any) -> Any:
    return client.post("/api/v1/api-keys", body, format="json")


class TestIssue:
    def test_it_answers_the_new_key_once_and_stores_only_its_hash(
        self, owner: AccountFixture
    ) -> None:
        response = issue(owner.client, name="ESP", scopes=["mint"])
        assert response.status_code == 201, response.content
        data = response.json()
        assert set(data) == {"id", "name", "prefix", "scopes", "api_key", "created_at"}
        assert data["name"] == "ESP"
        assert data["scopes"] == ["mint"]
        assert data["api_key"].startswith(f"trk_{data['prefix']}_")
        assert response["Cache-Control"] == "no-store"
        stored = ApiKey.objects.get(pk=data["id"])
        assert stored.account == owner.account
        assert stored.key_hash == hash_secret(data["api_key"])
        assert data["api_key"] not in str(ApiKey.objects.filter(pk=stored.pk).values().get())
        # The key is never shown again.
        listed = owner.get("/api/v1/api-keys").json()["results"]
        assert all("api_key" not in row and "key_hash" not in row for row in listed)

    def test_the_new_key_can_do_what_its_scopes_say_and_nothing_else(
        self, owner: AccountFixture
    ) -> None:
        raw = issue(owner.client, name="ESP", scopes=["mint"]).json()["api_key"]
        client = keyed(raw)
        minted = client.post(
            "/api/v1/messages", {"contact": {"external_id": "c1"}, "body": "Hi"}, format="json"
        )
        assert minted.status_code == 201
        assert client.get("/api/v1/reports/campaigns").status_code == 403

    def test_a_key_grants_only_scopes_it_holds(self, owner: AccountFixture) -> None:
        _, client = key_with(owner, ["config", "read"])
        response = issue(client, name="Escalated", scopes=["mint", "read"])
        assert response.status_code == 403
        assert "'mint'" in response.json()["detail"]
        assert "scopes" in response.json()["errors"]
        assert not ApiKey.objects.filter(name="Escalated").exists()
        assert issue(client, name="Reader", scopes=["read"]).status_code == 201

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"scopes": ["read"]}, "name"),
            ({"name": "   ", "scopes": ["read"]}, "name"),
            ({"name": "x" * 101, "scopes": ["read"]}, "name"),
            ({"name": "A"}, "scopes"),
            ({"name": "A", "scopes": []}, "scopes"),
            ({"name": "A", "scopes": ["admin"]}, "scopes"),
            ({"name": "A", "scopes": "read"}, "scopes"),
            ({"name": "A", "scopes": ["read"], "expires": "never"}, "expires"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(
        self, owner: AccountFixture, body: dict[str, Any], field: str
    ) -> None:
        before = ApiKey.objects.count()
        response = issue(owner.client, **body)
        assert response.status_code == 400, response.content
        errors = response.json()["errors"]
        assert any(name == field or name.startswith(f"{field}[") for name in errors), errors
        assert ApiKey.objects.count() == before

    def test_it_needs_the_config_scope(self, owner: AccountFixture) -> None:
        _, client = key_with(owner, ["mint", "read"])
        response = issue(client, name="A", scopes=["read"])
        assert response.status_code == 403
        assert "'config'" in response.json()["detail"]


class TestList:
    def test_it_lists_the_accounts_keys_with_prefix_scopes_and_last_use(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        key, _ = key_with(owner, ["read"])
        response = owner.get("/api/v1/api-keys")
        assert response.status_code == 200
        rows = response.json()["results"]
        prefixes = {row["prefix"] for row in rows}
        assert key.prefix in prefixes
        assert owner.api_key.split("_")[1] in prefixes
        assert not prefixes & set(
            ApiKey.objects.filter(account=outsider.account).values_list("prefix", flat=True)
        )
        mine = next(row for row in rows if row["prefix"] == owner.api_key.split("_")[1])
        assert mine["last_used_at"] is not None  # this very request used it
        assert set(mine) == {
            "id", "name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at",
        }  # fmt: skip

    def test_a_read_key_lists_keys_but_cannot_issue_one(self, owner: AccountFixture) -> None:
        # Configuration is read with config or read, changed only with config.
        _, client = key_with(owner, ["read"])
        listed = client.get("/api/v1/api-keys")
        assert listed.status_code == 200
        assert all("api_key" not in k and "key_hash" not in k for k in listed.json()["results"])
        response = client.post("/api/v1/api-keys", {"name": "x", "scopes": ["read"]}, format="json")
        assert response.status_code == 403
        assert "'config'" in response.json()["detail"]


class TestRevoke:
    def test_a_revoked_key_is_refused_at_once(self, owner: AccountFixture) -> None:
        key, client = key_with(owner, ["read"])
        assert client.get("/api/v1/reports/campaigns").status_code == 200
        response = owner.post(f"/api/v1/api-keys/{key.pk}/revoke", {})
        assert response.status_code == 200
        assert response.json()["revoked_at"] is not None
        assert client.get("/api/v1/reports/campaigns").status_code == 401

    def test_revoking_twice_keeps_the_first_time(self, owner: AccountFixture) -> None:
        key, _ = key_with(owner, ["read"])
        first = owner.post(f"/api/v1/api-keys/{key.pk}/revoke", {}).json()["revoked_at"]
        again = owner.post(f"/api/v1/api-keys/{key.pk}/revoke", {})
        assert again.status_code == 200
        assert again.json()["revoked_at"] == first

    def test_a_key_may_revoke_itself(self, owner: AccountFixture) -> None:
        key, client = key_with(owner, ["config"])
        assert (
            client.post(f"/api/v1/api-keys/{key.pk}/revoke", {}, format="json").status_code == 200
        )
        assert client.get("/api/v1/api-keys").status_code == 401

    def test_a_key_cannot_revoke_a_key_holding_scopes_it_lacks(self, owner: AccountFixture) -> None:
        minter, _ = key_with(owner, ["mint"])
        _, config_only = key_with(owner, ["config"])
        response = config_only.post(f"/api/v1/api-keys/{minter.pk}/revoke", {}, format="json")
        assert response.status_code == 403
        assert "'mint'" in response.json()["detail"]
        minter.refresh_from_db()
        assert minter.revoked_at is None

    def test_another_accounts_key_is_404_and_stays_valid(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        theirs = ApiKey.objects.get(account=outsider.account)
        assert owner.post(f"/api/v1/api-keys/{theirs.pk}/revoke", {}).status_code == 404
        assert owner.get(f"/api/v1/api-keys/{theirs.pk}").status_code == 404
        assert outsider.get("/api/v1/api-keys").status_code == 200


def test_minting_with_a_mint_key_still_creates_lists_campaigns_and_creatives_by_name(
    owner: AccountFixture,
) -> None:
    _, client = key_with(owner, ["mint"])
    response = client.post(
        "/api/v1/messages",
        {"contact": {"external_id": "c1"}, "body": "Hi", "list": "New list",
         "campaign": "New campaign", "creative": "New creative"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.content
    account = owner.account
    assert account.lists.filter(name="New list").exists()
    assert account.campaigns.filter(name="New campaign").exists()
    assert account.creatives.filter(name="New creative").exists()


def test_the_schema_documents_the_api_keys_endpoints(db: Any) -> None:
    schema = APIClient(HTTP_HOST="localhost").get("/api/v1/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert set(paths["/api/v1/api-keys/"]) == {"get", "post"}
    issued = paths["/api/v1/api-keys/"]["post"]["responses"]["201"]["content"]
    assert issued["application/json"]["schema"]["$ref"].endswith("/ApiKeyIssued")
    assert "api_key" in schema["components"]["schemas"]["ApiKeyIssued"]["properties"]
    assert "post" in paths["/api/v1/api-keys/{id}/revoke/"]


def test_the_key_create_account_prints_holds_every_scope(db: Any) -> None:
    out = io.StringIO()
    call_command("create_account", "Fresh Co", "--domain", "go.fresh.example", stdout=out)
    raw = json.loads(out.getvalue())["api_key"]
    key = ApiKey.objects.get(prefix=ApiKey.prefix_of(raw))
    assert sorted(key.scopes) == ["config", "mint", "read"]
    assert issue(keyed(raw), name="Any", scopes=["mint", "read", "config"]).status_code == 201


class TestRevokeBody:
    def test_a_post_without_a_body_revokes_whatever_its_content_type(
        self, owner: AccountFixture
    ) -> None:
        key, _ = key_with(owner, ["read"])
        response = owner.client.generic(
            "POST", f"/api/v1/api-keys/{key.pk}/revoke", "",
            content_type="application/x-www-form-urlencoded",
        )  # fmt: skip
        assert response.status_code == 200, response.content
        key.refresh_from_db()
        assert key.revoked_at is not None

    def test_a_body_naming_a_field_is_refused_and_revokes_nothing(
        self, owner: AccountFixture
    ) -> None:
        key, _ = key_with(owner, ["read"])
        response = owner.post(f"/api/v1/api-keys/{key.pk}/revoke", {"reason": "leaked"})
        assert response.status_code == 400
        assert response.json()["errors"] == {"reason": ["Unknown field."]}
        key.refresh_from_db()
        assert key.revoked_at is None
