"""Click ids carry their click's time (links.ids), and lookups by click id bound the click's
time with it, falling back to the id alone for ids minted before (random characters)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from core.models import Offer
from links import ids
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick
from links.selectors import click_by_id, clicks_by_ids
from tests.helpers import click_stored

T0 = dt.datetime(2026, 11, 2, 12, 0, 7, 654321, tzinfo=dt.UTC)


def test_the_time_goes_through_the_id_to_the_second() -> None:
    for at in (ids.CLICK_EPOCH, T0, dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC)):
        click_id = ids.new_click_id(at)
        assert ids.is_click_id(click_id)
        assert ids.click_id_time(click_id, now=dt.datetime(2032, 1, 1, tzinfo=dt.UTC)) == (
            at.replace(microsecond=0)
        )
    # An aware time in another zone names the same UTC second.
    paris = T0.astimezone(dt.timezone(dt.timedelta(hours=1)))
    assert ids.click_id_time(ids.new_click_id(paris)) == T0.replace(microsecond=0)
    # Time sorts the ids' prefixes as it sorts the clicks (base 62 in ALPHABET's order).
    assert ids.click_time_prefix(T0) < ids.click_time_prefix(T0 + dt.timedelta(seconds=1))


def test_the_random_part_differs_within_one_second() -> None:
    made = {ids.new_click_id(T0) for _ in range(1000)}
    assert len(made) == 1000
    assert {c[: ids.CLICK_TIME_LENGTH] for c in made} == {ids.click_time_prefix(T0)}


def test_an_id_outside_2020_to_tomorrow_carries_no_time() -> None:
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    later = ids.new_click_id(now + dt.timedelta(days=2))
    assert ids.click_id_time(later, now=now) is None
    assert ids.click_id_time(ids.new_click_id(now + dt.timedelta(hours=23)), now=now) is not None
    assert ids.click_id_time("z" * 16, now=now) is None  # far past 2026: a random id
    assert ids.click_id_time("short", now=now) is None
    assert ids.click_id_window("9" * 16) is None


def legacy(click: MessageShortLinkClick, *, decodes: bool) -> str:
    """Give `click` an id as minted before ids carried time: random characters, which may
    (`decodes`) read as a plausible time that is not the click's."""
    early = ids.CLICK_EPOCH + dt.timedelta(days=400)
    prefix = ids.click_time_prefix(early) if decodes else "zzzzzz"
    click_id = prefix + click.click_id[ids.CLICK_TIME_LENGTH :]
    MessageShortLinkClick.objects.filter(pk=click.pk).update(click_id=click_id)
    MessageClick.objects.filter(raw_click_id=click.pk).update(click_id=click_id)  # its copy
    return click_id


@pytest.mark.django_db
class TestTheLookupByClickId:
    @pytest.fixture
    def link(self, owner: Any) -> MessageShortLink:
        data = owner.mint(body="{{l}}", links={"l": {"url": "https://shop.example/p"}})
        return MessageShortLink.objects.get(link_id=data["links"][0]["link_id"])

    def test_the_click_is_found_within_its_ids_time(self, link: MessageShortLink) -> None:
        stored = click_stored(link, T0)
        with CaptureQueriesContext(connection) as queries:
            found = click_by_id(MessageShortLinkClick.objects.all(), stored.click_id)
        assert found == stored
        [query] = queries.captured_queries  # one query, bounded by the id's time
        assert '"clicked_at" >=' in query["sql"] and '"clicked_at" <' in query["sql"]
        with CaptureQueriesContext(connection) as queries:
            assert clicks_by_ids(
                MessageShortLinkClick.objects.all(), [stored.click_id], key=lambda c: c.click_id
            ) == [stored]
        assert len(queries.captured_queries) == 1

    @pytest.mark.parametrize("decodes", [True, False])
    def test_a_legacy_random_id_is_still_found(self, link: MessageShortLink, decodes: bool) -> None:
        stored, other = click_stored(link, T0), click_stored(link, T0 + dt.timedelta(hours=1))
        old = legacy(stored, decodes=decodes)
        assert click_by_id(MessageShortLinkClick.objects.all(), old) == stored
        found = clicks_by_ids(
            MessageShortLinkClick.objects.values_list("click_id", flat=True),
            [old, other.click_id, ids.new_click_id(T0)],  # the last: never stored
            key=str,
        )
        assert sorted(found) == sorted([old, other.click_id])

    def test_a_postback_naming_a_legacy_id_is_credited(self, owner: Any) -> None:
        offer = Offer.objects.create(
            account=owner.account, name="O", destination_url="https://adv.example/"
        )
        for decodes in (True, False):
            data = owner.mint(body="{{l}}", links={"l": {"offer": offer.pk}})
            link = MessageShortLink.objects.get(link_id=data["links"][0]["link_id"])
            stored = click_stored(link, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
            old = legacy(stored, decodes=decodes)
            response = Client(HTTP_HOST=owner.domain.host).get(
                "/conv", {"click_id": old, "token": owner.postback_token, "txn_id": old}
            )
            assert response.json()["status"] == "accepted", response.json()
            assert response.json()["attribution"]["click_id"] == old
