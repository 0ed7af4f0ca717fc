"""Minting holds `sent_at` and the links of a message to core.bounds."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from core.models import Message
from links.models import MessageShortLink
from tests.conftest import AccountFixture


def mint(account: AccountFixture, **fields: Any) -> Any:
    return account.post(
        "/api/v1/messages", {"contact": {"external_id": "c-1"}, "body": "Hi"} | fields
    )


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.mark.django_db
class TestSentAt:
    @pytest.mark.parametrize(
        "sent_at",
        [
            pytest.param("0001-01-01T00:00:00Z", id="year-1"),
            pytest.param("1999-12-31T23:59:59Z", id="a-second-before-2000"),
            pytest.param("2000-01-01T00:30:00+01:00", id="before-2000-in-utc"),
            pytest.param("9999-12-31T23:59:59-14:00", id="past-year-9999-in-utc"),
            pytest.param(0, id="unix-1970"),
        ],
    )
    def test_a_sent_at_outside_2000_to_a_week_ahead_is_a_400_naming_it(
        self, owner: AccountFixture, sent_at: Any
    ) -> None:
        response = mint(owner, sent_at=sent_at)
        assert response.status_code == 400, response.content
        assert response.json()["errors"] == {
            "sent_at": ["Must be from 2000-01-01 to 7 days from now."]
        }
        assert not Message.objects.exists()

    @pytest.mark.parametrize("offset", ["-16:00", "+20:00", "+15:59"])
    def test_a_sent_at_at_any_offset_iso_allows_is_stored_as_its_utc_time(
        self, owner: AccountFixture, offset: str
    ) -> None:
        # PostgreSQL refuses offsets past ±15:59; in a bulk, too, it is no 500.
        sent_at = f"2024-06-01T00:00:00{offset}"
        response = owner.post(
            "/api/v1/messages/bulk",
            [{"contact": {"external_id": "c1"}, "body": "Hi", "sent_at": sent_at}],
        )
        assert response.status_code == 201, response.content
        assert Message.objects.get().sent_at == dt.datetime.fromisoformat(sent_at)

    def test_a_sent_at_more_than_a_week_ahead_is_a_400(self, owner: AccountFixture) -> None:
        ahead = timezone.now() + dt.timedelta(days=7, minutes=1)
        response = mint(owner, sent_at=iso(ahead))
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["sent_at"]
        assert not Message.objects.exists()

    def test_from_2000_to_a_week_ahead_is_minted(self, owner: AccountFixture) -> None:
        first = owner.mint(sent_at="2000-01-01T00:00:00Z")
        week = timezone.now().replace(microsecond=0) + dt.timedelta(days=7, minutes=-1)
        last = owner.mint(sent_at=iso(week))
        assert Message.objects.get(pk=first["id"]).sent_at == dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        assert Message.objects.get(pk=last["id"]).sent_at == week

    def test_one_bad_sent_at_fails_a_bulk_mint_naming_its_index(
        self, owner: AccountFixture
    ) -> None:
        items = [
            {"contact": {"external_id": "a"}, "body": "Hi"},
            {"contact": {"external_id": "b"}, "body": "Hi", "sent_at": "0001-01-01T00:00:00Z"},
        ]
        response = owner.post("/api/v1/messages/bulk", items)
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {"index": 1, "errors": {"sent_at": ["Must be from 2000-01-01 to 7 days from now."]}}
        ]
        assert not Message.objects.exists()


def bare_urls(count: int) -> str:
    return " ".join(f"https://shop.example/{n}" for n in range(count))


@pytest.mark.django_db
class TestLinksPerMessage:
    def test_fifty_tracked_links_are_minted(self, owner: AccountFixture) -> None:
        data = owner.mint(body=bare_urls(50))
        assert len(data["links"]) == 50

    @pytest.mark.parametrize(
        "fields",
        [
            pytest.param({"body": bare_urls(51)}, id="sms-bare-urls"),
            pytest.param(
                {
                    "channel": "email",
                    "body": "".join(f'<a href="https://shop.example/{n}">x</a>' for n in range(51)),
                },
                id="email-hrefs",
            ),
            pytest.param(
                {
                    "body": " ".join(f"{{{{l{n}}}}}" for n in range(51)),
                    "links": {f"l{n}": f"https://shop.example/{n}" for n in range(51)},
                },
                id="placeholders",
            ),
        ],
    )
    def test_the_51st_is_a_400_naming_body(self, owner: AccountFixture, fields: dict) -> None:
        response = mint(owner, **fields)
        assert response.status_code == 400, response.content
        assert response.json()["errors"] == {
            "body": ["At most 50 tracked links per message; this body has 51."]
        }
        assert not Message.objects.exists() and not MessageShortLink.objects.exists()

    def test_a_url_repeated_is_one_link_and_untracked_ones_do_not_count(
        self, owner: AccountFixture
    ) -> None:
        body = "https://shop.example/same " * 60 + " ".join(f"{{{{u{n}}}}}" for n in range(60))
        links = {f"u{n}": {"url": f"https://shop.example/{n}", "track": False} for n in range(60)}
        data = owner.mint(body=body, links=links)
        assert len(data["links"]) == 1
