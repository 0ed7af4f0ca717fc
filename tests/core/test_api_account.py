"""GET/PATCH /api/v1/account and POST /api/v1/account/rotate-postback-token
(core/api_account.py)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from core import bounds
from core.models import Account, ApiKey
from reporting.models import DirtyHour

pytestmark = pytest.mark.django_db
FIELDS = {
    "id",
    "name",
    "time_zone",
    "currency",
    "default_click_window_days",
    "data_retention_days",
    "anonymize_ips",
    "link_retention_days",
    "opt_out_patterns",
    "require_postback_token",
    "has_postback_token",
    "internal_ips",
    "utm_template",
    "sms_segment_cost",
    "sms_rates",
    "email_cost",
}


def keyed(account: Any, scopes: list[str]) -> APIClient:
    _, raw = ApiKey.generate(account=account.account, name="scoped", scopes=scopes)
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def patch(account: Any, data: Any) -> Any:
    return account.client.patch("/api/v1/account", data, format="json")


class TestRead:
    def test_it_answers_the_keys_own_account_and_never_the_token_hash(
        self, owner: Any, outsider: Any
    ) -> None:
        response = owner.get("/api/v1/account")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == FIELDS
        assert body["id"] == owner.account.pk and body["name"] == "Owner Co"
        assert body["require_postback_token"] is True and body["has_postback_token"] is True
        assert body["time_zone"] == "UTC" and body["currency"] == "USD"
        account = Account.objects.get(pk=owner.account.pk)
        assert account.postback_token_hash not in response.content.decode()
        assert outsider.get("/api/v1/account").json()["id"] == outsider.account.pk

    @pytest.mark.parametrize("scopes", [["read"], ["config"]])
    def test_a_read_or_config_key_reads_it(self, owner: Any, scopes: list[str]) -> None:
        assert keyed(owner, scopes).get("/api/v1/account").status_code == 200

    def test_a_mint_key_cannot_read_it(self, owner: Any) -> None:
        response = keyed(owner, ["mint"]).get("/api/v1/account")
        assert response.status_code == 403 and "'config' or 'read'" in response.json()["detail"]

    def test_without_a_key_it_is_a_401(self, db: Any) -> None:
        assert APIClient(HTTP_HOST="localhost").get("/api/v1/account").status_code == 401


class TestUpdate:
    def test_it_changes_only_the_fields_sent(self, owner: Any, outsider: Any) -> None:
        response = patch(
            owner,
            {
                "name": "Owner Two",
                "time_zone": "Europe/Paris",
                "currency": "EUR",
                "default_click_window_days": 30,
                "data_retention_days": 3650,
                "opt_out_patterns": "*stop*\n*unsub*",
            },
        )
        assert response.status_code == 200, response.content
        account = Account.objects.get(pk=owner.account.pk)
        assert (account.name, account.time_zone, account.currency) == (
            "Owner Two",
            "Europe/Paris",
            "EUR",
        )
        assert (account.default_click_window_days, account.data_retention_days) == (30, 3650)
        assert account.opt_out_pattern_list() == ["*stop*", "*unsub*"]
        assert response.json()["opt_out_patterns"] == "*stop*\n*unsub*"
        assert account.require_postback_token is True  # not sent: unchanged
        assert account.postback_token_matches(owner.postback_token)
        assert Account.objects.get(pk=outsider.account.pk).name == "Outsider Inc"

    def test_opt_out_patterns_may_be_a_list(self, owner: Any) -> None:
        response = patch(owner, {"opt_out_patterns": ["*stop*", "*quit*"]})
        assert response.json()["opt_out_patterns"] == "*stop*\n*quit*"
        minted = owner.mint(body="Bye https://a.example/stop-now https://a.example/deal")
        assert [link["destination"] for link in minted["links"]] == ["https://a.example/deal"]

    def test_a_new_time_zone_marks_the_accounts_rollups_for_a_rebuild(self, owner: Any) -> None:
        DirtyHour.objects.all().delete()
        assert patch(owner, {"time_zone": "Asia/Tokyo"}).status_code == 200
        assert DirtyHour.objects.filter(account_id=owner.account.pk, hour=None).exists()

    def test_the_same_time_zone_marks_nothing(self, owner: Any) -> None:
        DirtyHour.objects.all().delete()
        assert patch(owner, {"name": "Renamed"}).status_code == 200
        assert not DirtyHour.objects.exists()

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("name", ""),
            ("name", "x" * 201),
            ("name", None),
            ("time_zone", "Mars/Olympus_Mons"),
            ("time_zone", ""),
            ("currency", "XYZ"),
            ("currency", "usd"),
            ("currency", "dollars"),
            ("default_click_window_days", 0),
            ("default_click_window_days", bounds.MAX_CLICK_WINDOW_DAYS + 1),
            ("default_click_window_days", "ninety"),
            ("data_retention_days", 0),
            ("data_retention_days", bounds.MAX_RETENTION_DAYS + 1),
            ("data_retention_days", -5),
            ("opt_out_patterns", "\n".join(f"*p{n}*" for n in range(101))),
            ("opt_out_patterns", "*" + "x" * 200),
            ("opt_out_patterns", ["ok", 3]),
            ("opt_out_patterns", ["two\nlines"]),
            ("opt_out_patterns", "nul\x00"),
            ("require_postback_token", "perhaps"),
            ("internal_ips", ["203.0.113.0/24", "203.0.113.0/33"]),
            ("internal_ips", ["not-a-network"]),
            ("internal_ips", [""]),
            ("internal_ips", [42]),
            ("internal_ips", "203.0.113.0/24"),
            ("internal_ips", None),
            ("internal_ips", [f"10.0.{n}.0/24" for n in range(bounds.MAX_INTERNAL_NETWORKS + 1)]),
        ],
    )
    def test_a_bad_value_is_a_400_naming_its_field(
        self, owner: Any, field: str, value: Any
    ) -> None:
        before = Account.objects.filter(pk=owner.account.pk).values().get()
        response = patch(owner, {field: value})
        assert response.status_code == 400, response.content
        assert set(response.json()["errors"]) == {field}
        assert Account.objects.filter(pk=owner.account.pk).values().get() == before

    @pytest.mark.parametrize("field", ["postback_token_hash", "is_active", "colour"])
    def test_an_unknown_field_is_refused(self, owner: Any, field: str) -> None:
        response = patch(owner, {field: "x", "name": "Changed"})
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {field}
        assert Account.objects.get(pk=owner.account.pk).name == "Owner Co"

    def test_internal_ips_are_stored_normalised(self, owner: Any) -> None:
        assert owner.get("/api/v1/account").json()["internal_ips"] == []
        response = patch(
            owner, {"internal_ips": ["203.0.113.7/24", "2001:DB8:1::/48", "198.51.100.9"]}
        )
        assert response.status_code == 200, response.content
        # Host bits cleared; a bare address is its own network.
        expected = ["203.0.113.0/24", "2001:db8:1::/48", "198.51.100.9/32"]
        assert response.json()["internal_ips"] == expected
        assert Account.objects.get(pk=owner.account.pk).internal_ips == expected
        assert patch(owner, {"internal_ips": []}).json()["internal_ips"] == []

    def test_a_bad_internal_network_is_named(self, owner: Any) -> None:
        response = patch(owner, {"internal_ips": ["10.0.0.0/8", "10.0.0.300/32"]})
        assert response.status_code == 400
        assert "10.0.0.300/32" in response.json()["errors"]["internal_ips"][0]

    def test_a_body_that_is_not_an_object_is_a_400(self, owner: Any) -> None:
        assert patch(owner, ["name"]).status_code == 400

    def test_the_token_requirement_goes_off_and_on(self, owner: Any) -> None:
        assert (
            patch(owner, {"require_postback_token": False}).json()["require_postback_token"]
            is False
        )
        assert Account.objects.get(pk=owner.account.pk).require_postback_token is False
        assert patch(owner, {"require_postback_token": True}).status_code == 200

    def test_it_cannot_be_required_before_a_token_exists(self, owner: Any) -> None:
        Account.objects.filter(pk=owner.account.pk).update(
            postback_token_hash="", require_postback_token=False
        )  # as an account made before postback tokens
        response = patch(owner, {"require_postback_token": True})
        assert response.status_code == 400
        assert "rotate-postback-token" in response.json()["errors"]["require_postback_token"][0]

    def test_a_read_key_cannot_change_it(self, owner: Any) -> None:
        response = keyed(owner, ["read"]).patch("/api/v1/account", {"name": "Mine"}, format="json")
        assert response.status_code == 403 and "'config'" in response.json()["detail"]
        assert Account.objects.get(pk=owner.account.pk).name == "Owner Co"

    @pytest.mark.parametrize("method", ["put", "post", "delete"])
    def test_other_methods_are_not_allowed(self, owner: Any, method: str) -> None:
        response = getattr(owner.client, method)("/api/v1/account", {}, format="json")
        assert response.status_code == 405


class TestRotatePostbackToken:
    def test_it_answers_a_new_token_once_and_keeps_only_its_hash(self, owner: Any) -> None:
        response = owner.client.post("/api/v1/account/rotate-postback-token")
        assert response.status_code == 200 and response["Cache-Control"] == "no-store"
        token = response.json()["postback_token"]
        assert set(response.json()) == {"postback_token"} and token.startswith("pbt_")
        account = Account.objects.get(pk=owner.account.pk)
        assert account.postback_token_matches(token)
        assert not account.postback_token_matches(owner.postback_token)
        assert token not in str(Account.objects.filter(pk=account.pk).values().get())
        assert token not in owner.get("/api/v1/account").content.decode()

    def test_it_needs_a_config_key(self, owner: Any) -> None:
        response = keyed(owner, ["read", "mint"]).post("/api/v1/account/rotate-postback-token")
        assert response.status_code == 403 and "'config'" in response.json()["detail"]
        assert Account.objects.get(pk=owner.account.pk).postback_token_matches(owner.postback_token)

    def test_it_rotates_only_the_keys_own_account(self, owner: Any, outsider: Any) -> None:
        owner.client.post("/api/v1/account/rotate-postback-token")
        assert Account.objects.get(pk=outsider.account.pk).postback_token_matches(
            outsider.postback_token
        )


def test_the_schema_describes_the_account_endpoints(db: Any) -> None:
    schema = APIClient(HTTP_HOST="localhost").get("/api/v1/schema/", {"format": "json"}).json()
    # (Rendered with the slash the URL may end with, as every path of the schema.)
    account = schema["paths"]["/api/v1/account/"]
    assert set(account) == {"get", "patch"}
    settings = schema["components"]["schemas"]["AccountSettings"]["properties"]
    assert set(settings) == FIELDS and "postback_token_hash" not in settings
    assert settings["opt_out_patterns"]["type"] == "string"
    rotate = schema["paths"]["/api/v1/account/rotate-postback-token/"]["post"]
    answer = rotate["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    token = schema["components"]["schemas"][answer.rsplit("/", 1)[1]]
    assert set(token["properties"]) == {"postback_token"}


def test_anonymize_ips_is_read_and_set(owner: Any) -> None:
    assert owner.get("/api/v1/account").json()["anonymize_ips"] is False
    r = owner.client.patch("/api/v1/account", {"anonymize_ips": True}, format="json")
    assert r.status_code == 200 and r.json()["anonymize_ips"] is True
    owner.account.refresh_from_db()
    assert owner.account.anonymize_ips is True
