"""`GET /tls/ask?domain=` (trackly.tls): Caddy's question before an on-demand certificate.
200 for an active tracking domain of an active account or an app host, 404 otherwise,
never a redirect; a missing or malformed domain is a 400 naming it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client


def ask(domain: str | None, host: str = "localhost:8000", **extra: Any) -> Any:
    query = {} if domain is None else {"domain": domain}
    return Client(HTTP_HOST=host).get("/tls/ask", query, **extra)


@pytest.mark.django_db
def test_an_active_tracking_domain_is_yes_anything_else_no(owner: Any) -> None:
    assert ask("go.owner.example").status_code == 200
    assert ask("GO.Owner.Example").status_code == 200
    assert ask("go.unknown.example").status_code == 404
    owner.domain.is_active = False
    owner.domain.save()
    assert ask("go.owner.example").status_code == 404


@pytest.mark.django_db
def test_an_inactive_accounts_domain_is_no(owner: Any) -> None:
    owner.account.is_active = False
    owner.account.save()
    assert ask("go.owner.example").status_code == 404


@pytest.mark.django_db
def test_app_hosts_are_yes_and_asked_on_app_hosts_and_localhost(owner: Any, settings: Any) -> None:
    settings.APP_HOSTS = ["app.trackly.example"]
    settings.SECURE_SSL_REDIRECT = True  # production's HTTPS: still no redirect
    for host in ("app.trackly.example", "localhost", "localhost:8000", "LOCALHOST:2019"):
        response = ask("go.owner.example", host=host)
        assert response.status_code == 200, host
    assert ask("app.trackly.example").status_code == 200
    # A tracking domain's own /tls/ask is a tap on an unknown link, not the question.
    assert ask("go.owner.example", host="go.owner.example").status_code == 404


@pytest.mark.django_db
def test_never_a_redirect(owner: Any, settings: Any) -> None:
    settings.SECURE_SSL_REDIRECT = True
    assert (
        Client(HTTP_HOST="localhost").get("/tls/ask/", {"domain": "go.owner.example"}).status_code
        == 200
    )  # noqa: E501
    assert ask("nope.example").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "domain",
    [
        None,
        "",
        "go.owner.example:443",
        "10.0.0.1",
        "a b.example",
        "x\x00.example",
        "https://go.owner.example",
    ],
)
def test_a_missing_or_bad_domain_is_a_400_naming_it(owner: Any, domain: str | None) -> None:
    response = ask(domain)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["domain"]


@pytest.mark.django_db
def test_two_domains_are_a_400(owner: Any) -> None:
    response = Client(HTTP_HOST="localhost").get("/tls/ask?domain=a.example&domain=b.example")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["domain"]
