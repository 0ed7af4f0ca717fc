from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from core.models import Account, ApiKey, TrackingDomain


def create_account(*args: str) -> dict[str, Any]:
    buf = io.StringIO()
    call_command("create_account", *args, stdout=buf)
    return json.loads(buf.getvalue())  # fails on anything but exactly one JSON value


def api(key: str) -> APIClient:
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.mark.django_db
class TestCreateAccount:
    def test_it_prints_one_json_object_with_the_account_id_key_and_postback_token(self) -> None:
        buf = io.StringIO()
        call_command("create_account", "Acme", "--domain", "go.acme.com", stdout=buf)
        assert len(buf.getvalue().strip().splitlines()) == 1
        data = json.loads(buf.getvalue())
        assert set(data) == {"account_id", "api_key", "postback_token"}
        assert isinstance(data["account_id"], int) and not isinstance(data["account_id"], bool)
        assert isinstance(data["api_key"], str) and data["api_key"].startswith("trk_")
        assert isinstance(data["postback_token"], str)
        assert data["postback_token"].startswith("pbt_")
        assert Account.objects.get(pk=data["account_id"]).name == "Acme"

    def test_it_gives_the_account_its_primary_https_tracking_domain(self) -> None:
        data = create_account("Acme", "--domain", "GO.Acme.com")
        domain = TrackingDomain.objects.get(account_id=data["account_id"])
        assert (domain.host, domain.https, domain.port) == ("go.acme.com", True, None)
        assert domain.is_primary and domain.is_active
        assert domain.fallback_url == ""

    def test_it_takes_an_http_development_domain_with_a_port(self) -> None:
        data = create_account(
            "Dev", "--domain", "http://127.0.0.1:8000", "--fallback-url", "https://acme.example/"
        )
        domain = TrackingDomain.objects.get(account_id=data["account_id"])
        assert (domain.host, domain.https, domain.port) == ("127.0.0.1", False, 8000)
        assert domain.base_url == "http://127.0.0.1:8000"
        assert domain.fallback_url == "https://acme.example/"

    def test_the_key_works_against_the_api(self) -> None:
        data = create_account("Acme", "--domain", "go.acme.com")
        response = api(data["api_key"]).post(
            "/api/v1/messages",
            {"contact": {"external_id": "c-1"}, "body": "Sale https://shop.example/"},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert response.json()["links"][0]["short_url"].startswith("https://go.acme.com/")

    def test_the_key_is_stored_only_as_a_hash(self) -> None:
        data = create_account("Acme", "--domain", "go.acme.com")
        raw = data["api_key"]
        key = ApiKey.objects.get(account_id=data["account_id"])
        assert key.matches(raw)
        for row in ApiKey.objects.values():
            assert all(raw not in str(value) for value in row.values())

    def test_the_postback_token_is_required_works_on_conv_and_is_stored_only_as_a_hash(
        self,
    ) -> None:
        data = create_account("Acme", "--domain", "go.acme.com")
        account = Account.objects.get(pk=data["account_id"])
        assert account.require_postback_token and account.postback_token_matches(
            data["postback_token"]
        )
        assert data["postback_token"] not in str(list(Account.objects.values()))
        tracking = Client(HTTP_HOST="go.acme.com")
        assert tracking.get("/conv", {"link_id": "Abcdefg"}).status_code == 403
        known = tracking.get("/conv", {"link_id": "Abcdefg", "token": data["postback_token"]})
        assert known.status_code == 404  # past the token: no such link

    def test_each_account_gets_its_own_key(self) -> None:
        first = create_account("A", "--domain", "go.a.example")
        second = create_account("B", "--domain", "go.b.example")
        assert first["api_key"] != second["api_key"]
        assert first["account_id"] != second["account_id"]
        # One account's key reaches only its own account.
        minted = api(first["api_key"]).post(
            "/api/v1/messages", {"contact": {"external_id": "c"}, "body": "x"}, format="json"
        )
        path = f"/api/v1/messages/{minted.json()['id']}"
        assert api(first["api_key"]).get(path).status_code == 200
        assert api(second["api_key"]).get(path).status_code == 404

    @pytest.mark.parametrize("taken", ["go.acme.com", "GO.ACME.COM", "https://go.acme.com/"])
    def test_a_domain_already_owned_is_refused(self, taken: str) -> None:
        create_account("Acme", "--domain", "go.acme.com")
        with pytest.raises(CommandError, match="belongs to another account"):
            create_account("Rival", "--domain", taken)
        assert not Account.objects.filter(name="Rival").exists()
        assert ApiKey.objects.count() == 1

    @pytest.mark.parametrize("bad", ["go.acme.com/path", "ftp://go.acme.com", "https://"])
    def test_a_domain_that_is_not_a_host_is_refused(self, bad: str) -> None:
        with pytest.raises(CommandError):
            create_account("Acme", "--domain", bad)
        assert not Account.objects.exists()

    def test_the_domain_is_required(self) -> None:
        with pytest.raises(CommandError):
            create_account("Acme")
        assert not Account.objects.exists()
