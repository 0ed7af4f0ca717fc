"""The tracking-domains API (core.api_domains): list, create, read, update; scopes; hosts
unique across accounts without saying whose; the app-links files' shapes and bounds; a
change seen at once by the tracking host."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from core import bounds
from core.models import ApiKey, ApiScope, TrackingDomain
from tests.conftest import AccountFixture

FIELDS = {
    "id",
    "host",
    "fallback_url",
    "is_active",
    "apple_app_site_association",
    "android_asset_links",
}
AASA = {
    "applinks": {"details": [{"appIDs": ["ABCDE12345.com.brand.app"], "components": [{"/": "/*"}]}]}
}


def keyed(account: AccountFixture, *scopes: str) -> APIClient:
    _, raw = ApiKey.generate(account=account.account, name="scoped", scopes=list(scopes))
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def errors(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.content
    return response.json()["errors"]


@pytest.mark.django_db
def test_create_list_read_update(owner: AccountFixture) -> None:
    response = owner.post(
        "/api/v1/domains",
        {
            "host": "Links.Brand.Example",
            "fallback_url": "https://brand.example/",
            "apple_app_site_association": AASA,
        },
    )
    assert response.status_code == 201, response.content
    made = response.json()
    assert set(made) == FIELDS
    assert made["host"] == "links.brand.example" and made["is_active"] is True
    assert made["apple_app_site_association"] == AASA and made["android_asset_links"] is None
    hosts = [d["host"] for d in owner.get("/api/v1/domains").json()["results"]]
    assert hosts == ["go.owner.example", "links.brand.example"]
    assert owner.get(f"/api/v1/domains/{made['id']}").json() == made
    links = [{"relation": ["delegate_permission/common.handle_all_urls"], "target": {}}]
    changed = owner.client.patch(
        f"/api/v1/domains/{made['id']}",
        {"android_asset_links": links, "is_active": False},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    stored = TrackingDomain.objects.get(pk=made["id"])
    assert stored.android_asset_links == links and stored.is_active is False


@pytest.mark.django_db
def test_another_accounts_domain_is_404(owner: AccountFixture, outsider: AccountFixture) -> None:
    theirs = outsider.domain.pk
    assert owner.get(f"/api/v1/domains/{theirs}").status_code == 404
    patched = owner.client.patch(f"/api/v1/domains/{theirs}", {"is_active": False}, format="json")
    assert patched.status_code == 404
    assert TrackingDomain.objects.get(pk=theirs).is_active is True


@pytest.mark.django_db
def test_a_taken_host_is_a_400_that_does_not_say_whose(
    owner: AccountFixture, outsider: AccountFixture
) -> None:
    found = errors(owner.post("/api/v1/domains", {"host": "GO.OUTSIDER.example"}))
    assert list(found) == ["host"]
    assert "Outsider" not in str(found) and str(outsider.account.pk) not in str(found)
    # Its own host again, by PATCH to another of its domains: taken too.
    other = owner.post("/api/v1/domains", {"host": "b.owner.example"}).json()
    again = owner.client.patch(
        f"/api/v1/domains/{other['id']}", {"host": "go.owner.example"}, format="json"
    )
    assert list(errors(again)) == ["host"]
    # A PATCH keeping its own host is no clash.
    same = owner.client.patch(
        f"/api/v1/domains/{other['id']}", {"host": "b.owner.example"}, format="json"
    )
    assert same.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    "host",
    [
        "go.brand.example:8443",
        "https://go.brand.example",
        "go.brand.example/x",
        "localhost",
        "10.0.0.1",
        "-bad.example",
        "a..example",
        "",
        "x" * 250 + ".com",
        "go brand.example",
    ],
)
def test_bad_hosts_are_refused_by_name(owner: AccountFixture, host: str) -> None:
    assert list(errors(owner.post("/api/v1/domains", {"host": host}))) == ["host"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("apple_app_site_association", [1, 2]),
        ("apple_app_site_association", "text"),
        ("android_asset_links", {"a": 1}),
        ("android_asset_links", ["x" * bounds.MAX_APP_LINKS_BYTES]),
        ("fallback_url", "javascript:alert(1)"),
        ("fallback_url", "ftp://files.example/"),
        ("is_primary", True),
        ("account", 1),
        ("id", 5),
    ],
)
def test_bad_fields_are_refused_by_name(owner: AccountFixture, field: str, value: Any) -> None:
    body = {"host": "new.owner.example", field: value}
    assert field in errors(owner.post("/api/v1/domains", body))
    assert not TrackingDomain.objects.filter(host="new.owner.example").exists()


@pytest.mark.django_db
def test_scopes_config_writes_read_reads(owner: AccountFixture) -> None:
    reader = keyed(owner, ApiScope.READ)
    assert reader.get("/api/v1/domains").status_code == 200
    assert reader.get(f"/api/v1/domains/{owner.domain.pk}").status_code == 200
    refused = reader.post("/api/v1/domains", {"host": "r.owner.example"}, format="json")
    assert refused.status_code == 403
    assert (
        reader.patch(
            f"/api/v1/domains/{owner.domain.pk}", {"is_active": False}, format="json"
        ).status_code
        == 403
    )
    minting = keyed(owner, ApiScope.MINT)
    assert minting.get("/api/v1/domains").status_code == 403
    config = keyed(owner, ApiScope.CONFIG)
    assert (
        config.post("/api/v1/domains", {"host": "c.owner.example"}, format="json").status_code
        == 201
    )
    assert not TrackingDomain.objects.filter(host="r.owner.example").exists()


@pytest.mark.django_db
def test_no_put_or_delete(owner: AccountFixture) -> None:
    url = f"/api/v1/domains/{owner.domain.pk}"
    assert owner.client.put(url, {"host": "go.owner.example"}, format="json").status_code == 405
    assert owner.client.delete(url).status_code == 405
    assert TrackingDomain.objects.filter(pk=owner.domain.pk).exists()


@pytest.mark.django_db
def test_a_change_is_seen_at_once_by_the_tracking_host(owner: AccountFixture) -> None:
    """The config bump (links.signals): the cached domain and app-links files are not stale."""
    host = Client(HTTP_HOST="go.owner.example")
    assert host.get("/.well-known/apple-app-site-association").status_code == 404  # cached
    url = f"/api/v1/domains/{owner.domain.pk}"
    owner.client.patch(url, {"apple_app_site_association": AASA}, format="json")
    assert host.get("/.well-known/apple-app-site-association").json() == AASA
    owner.client.patch(url, {"is_active": False}, format="json")
    assert host.get("/.well-known/apple-app-site-association").status_code == 404


@pytest.mark.django_db
def test_the_admin_form_checks_the_app_link_files_as_the_api_does(owner: Any) -> None:
    """Django admin saves through the model's clean(): the same shapes and bound."""
    domain = TrackingDomain(account=owner.account, host="go.admin.example")
    domain.apple_app_site_association, domain.android_asset_links = {"applinks": {}}, [{}]
    domain.clean()  # an object and an array: fine
    domain.apple_app_site_association, domain.android_asset_links = ["not", "an object"], {}
    with pytest.raises(ValidationError) as wrong:
        domain.clean()
    assert set(wrong.value.message_dict) == {"apple_app_site_association", "android_asset_links"}
    domain.apple_app_site_association = {"x": "y" * bounds.MAX_APP_LINKS_BYTES}
    domain.android_asset_links = None
    with pytest.raises(ValidationError) as large:
        domain.clean()
    assert "bytes" in large.value.message_dict["apple_app_site_association"][0]
