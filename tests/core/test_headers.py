"""Security headers (core.headers): every tracking-domain answer, and the app hosts'.

The redirect's own answers, through each door, and the interstitial are in
tests/links/test_redirect.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError
from django.test import Client

from trackly import middleware

TRACKING = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def has_tracking_headers(response: Any) -> bool:
    return all(response.get(name) == value for name, value in TRACKING.items())


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/Zzzzzzz", 404),  # an unknown link: the 404 page
        ("/conv", 403),  # a postback without the account's token: JSON
        ("/conv/offer?offer_id=1&secret=x", 403),
        ("/pixel/Zzzzzzz.gif", 200),
        ("/healthz", 200),
        ("/a/b", 404),
    ],
)
def test_every_tracking_domain_answer_carries_nosniff_and_the_referrer_policy(
    owner: Any, path: str, status: int
) -> None:
    response = Client(HTTP_HOST=owner.domain.host).get(path)
    assert response.status_code == status
    assert has_tracking_headers(response)


@pytest.mark.django_db
def test_an_unknown_hosts_404_carries_them_too() -> None:
    response = Client(HTTP_HOST="nowhere.example").get("/Ab3xK9q")
    assert response.status_code == 404
    assert has_tracking_headers(response)


@pytest.mark.django_db
def test_the_503_while_postgresql_is_out_of_reach_carries_them(
    owner: Any, monkeypatch: Any
) -> None:
    def down(host: str) -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(middleware, "tracking_domain_by_host", down)
    response = Client(HTTP_HOST=owner.domain.host).get("/conv?click_id=x")
    assert response.status_code == 503
    assert has_tracking_headers(response)


@pytest.mark.django_db
def test_app_hosts_keep_djangos_security_headers() -> None:
    response = Client(HTTP_HOST="localhost").get("/accounts/login/")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_hsts_is_for_the_app_hosts_only(owner: Any, settings: Any) -> None:
    settings.SECURE_HSTS_SECONDS = 31_536_000  # as HTTPS=true sets it (test_settings.py)
    app = Client(HTTP_HOST="localhost").get("/accounts/login/", secure=True)
    assert app["Strict-Transport-Security"] == "max-age=31536000"
    tracking = Client(HTTP_HOST=owner.domain.host).get("/Zzzzzzz", secure=True)
    assert "Strict-Transport-Security" not in tracking


@pytest.mark.django_db
def test_an_error_answer_on_a_tracking_domain_carries_them_too(
    owner: Any, monkeypatch: Any
) -> None:
    # A bug's 500 is still a tracking-domain answer: not sniffed, no path leaked.
    def broken(request: Any, domain: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(middleware.tracking, "dispatch", broken)
    response = Client(HTTP_HOST=owner.domain.host, raise_request_exception=False).get("/x")
    assert response.status_code == 500
    assert has_tracking_headers(response)
