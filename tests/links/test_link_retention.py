"""Retired links (the account's link_retention_days): a link older than it answers as an
unknown link (the tracking domain's fallback, else 404) and is no click, at both doors
(the front door through trackly.wsgi, and Django's view); the setting in the account API."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from core.models import TrackingDomain
from links.decision import Answer, Kind
from links.models import MessageShortLink
from tests.links.test_redirect_decision import DOMAIN, LINK, NOW, answer, stored_click_ids
from tests.links.test_redirect_front import mint, warm, wsgi_call

FALLBACK = "https://brand.example/"


class TestDecide:
    def test_a_link_past_the_accounts_link_retention_is_unknown_and_no_click(self) -> None:
        old = dataclasses.replace(
            LINK, created_at=NOW - dt.timedelta(days=30), link_retention_days=30
        )
        assert answer(old) == Answer(Kind.NOT_FOUND)
        domain = dataclasses.replace(DOMAIN, fallback_url=FALLBACK)
        assert answer(old, domain) == Answer(Kind.FALLBACK, location=FALLBACK)

    def test_a_younger_link_or_no_retention_still_redirects(self) -> None:
        young = dataclasses.replace(
            LINK, created_at=NOW - dt.timedelta(days=30, seconds=-1), link_retention_days=30
        )
        never = dataclasses.replace(LINK, created_at=NOW - dt.timedelta(days=9000))
        for link in (young, never):
            assert answer(link).kind is Kind.REDIRECT


def retire(owner: Any, link_id: str, days: int | None) -> None:
    """The link minted 40 days ago; the account's link retention set through the API (its
    save bumps the config version: cached link info is read again)."""
    MessageShortLink.objects.filter(link_id=link_id).update(
        created_at=timezone.now() - dt.timedelta(days=40)
    )
    response = owner.client.patch("/api/v1/account", {"link_retention_days": days}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["link_retention_days"] == days


@pytest.mark.django_db
@pytest.mark.parametrize("pipeline", [False, True])
def test_both_doors_answer_a_retired_link_with_the_domains_fallback(
    owner: Any, request: Any, pipeline: bool
) -> None:
    if pipeline:
        request.getfixturevalue("click_stream")
    TrackingDomain.objects.filter(pk=owner.domain.pk).update(fallback_url=FALLBACK)
    link_id = mint(owner)
    warm(owner, link_id)  # cached before the setting changes
    retire(owner, link_id, 30)

    through_wsgi = wsgi_call(owner.domain.host, f"/{link_id}")
    by_view = Client(HTTP_HOST=owner.domain.host).get(f"/{link_id}")

    assert through_wsgi["status"] == "302 Found"
    assert through_wsgi["headers"]["Location"] == FALLBACK
    assert (by_view.status_code, by_view["Location"]) == (302, FALLBACK)
    assert stored_click_ids() == []

    # Retention lifted (null: never): the same link redirects again, and counts.
    retire(owner, link_id, None)
    by_view = Client(HTTP_HOST=owner.domain.host).get(f"/{link_id}")
    assert by_view["Location"].startswith("https://shop.example/p?a=1&click_id=")
    assert len(stored_click_ids()) == 1


@pytest.mark.django_db
def test_a_link_younger_than_the_retention_redirects(owner: Any, outsider: Any) -> None:
    link_id = mint(owner)
    retire(owner, link_id, 60)
    assert owner.get("/api/v1/account").json()["link_retention_days"] == 60
    # The outsider's setting is its own.
    assert outsider.get("/api/v1/account").json()["link_retention_days"] is None
    response = Client(HTTP_HOST=owner.domain.host).get(f"/{link_id}")
    assert response["Location"].startswith("https://shop.example/p?a=1&click_id=")


@pytest.mark.django_db
@pytest.mark.parametrize("days", [0, -1, "soon", 100000])
def test_a_bad_link_retention_is_a_400_naming_the_field(owner: Any, days: Any) -> None:
    response = owner.client.patch("/api/v1/account", {"link_retention_days": days}, format="json")
    assert response.status_code == 400
    assert "link_retention_days" in response.json()["errors"]
