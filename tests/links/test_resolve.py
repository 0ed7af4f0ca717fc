"""The redirect's link lookup (links.resolve.link_info_load): one statement, everything a
redirect needs. Through the redirect it is covered by test_redirect.py; here the fields
themselves, the embedded default's cursor, and a connection lost between requests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest
from django.db import connection

from core.models import InterstitialTemplate, Offer, SendingList
from links.models import MessageShortLink
from links.resolve import Interstitial, link_info_load

EXPIRES = dt.datetime(2027, 1, 31, 23, 0, tzinfo=dt.UTC)


def template(account: Any, title: str) -> InterstitialTemplate:
    return InterstitialTemplate.objects.create(
        account=account.account, name=title, title=title, description="d", cta_text="Go",
        og_title="og", og_description="ogd", og_image="https://img.example/i.png",
    )  # fmt: skip


def offer(account: Any, **fields: Any) -> Offer:
    made = Offer(
        account=account.account, name="O", destination_url="https://adv.example/{click_id}",
        click_param="cid", fallback_url="https://adv.example/over", expires_at=EXPIRES,
        **fields,
    )  # fmt: skip
    made.rotate_postback_secret()
    made.save()
    return made


def minted(account: Any, link: dict, **message: Any) -> MessageShortLink:
    data = account.mint(body="{{l}}", links={"l": link}, **message)
    return MessageShortLink.objects.select_related("message").get(
        link_id=data["links"][0]["link_id"]
    )


@pytest.mark.django_db
class TestLinkLookup:
    def test_an_offer_link_carries_the_offer_message_and_list(self, owner: Any) -> None:
        SendingList.objects.create(
            account=owner.account, name="Raw", bot_detection_enabled=False,
            default_interstitial=template(owner, "List page"),
        )  # fmt: skip
        custom = offer(
            owner, interstitial_mode="custom", interstitial_template=template(owner, "Own")
        )
        link = minted(owner, {"offer": custom.pk}, campaign="Spring", creative="A", list="Raw")

        info = link_info_load(link.link_id)

        assert info is not None
        assert (info.pk, info.link_id, info.account_id) == (link.pk, link.link_id, owner.account.pk)
        assert (info.message_id, info.contact_id) == (link.message_id, link.contact_id)
        assert (info.campaign_id, info.creative_id) == (
            link.message.campaign_id, link.message.creative_id,
        )  # fmt: skip
        assert info.campaign_id is not None and info.creative_id is not None
        assert (info.offer_id, info.destination_template, info.click_param) == (
            custom.pk, "https://adv.example/{click_id}", "cid",
        )  # fmt: skip
        assert (info.offer_status, info.offer_expires_at) == ("active", EXPIRES)
        assert info.offer_fallback_url == "https://adv.example/over"
        assert info.bot_detection_enabled is False
        assert info.interstitial == Interstitial(
            "Own", "d", "Go", "og", "ogd", "https://img.example/i.png"
        )

    @pytest.mark.parametrize(
        ("mode", "own", "list_page", "shown"),
        [
            ("custom", True, True, "Own"),
            ("list_default", True, True, "List page"),
            ("list_default", True, False, None),
            ("none", True, True, None),
        ],
    )
    def test_the_interstitial_follows_the_offers_mode(
        self, owner: Any, mode: str, own: bool, list_page: bool, shown: str | None
    ) -> None:
        SendingList.objects.create(
            account=owner.account, name="L",
            default_interstitial=template(owner, "List page") if list_page else None,
        )  # fmt: skip
        made = offer(
            owner, interstitial_mode=mode,
            interstitial_template=template(owner, "Own") if own else None,
        )  # fmt: skip
        info = link_info_load(minted(owner, {"offer": made.pk}, list="L").link_id)
        assert info is not None
        assert (info.interstitial.title if info.interstitial else None) == shown

    def test_a_plain_link_has_no_offer_and_detects_bots(self, owner: Any) -> None:
        link = minted(owner, {"url": "https://shop.example/p?x=1"})
        info = link_info_load(link.link_id)
        assert info is not None
        assert (info.offer_id, info.offer_status, info.offer_expires_at) == (None, None, None)
        assert info.destination_template == "https://shop.example/p?x=1"
        assert (info.click_param, info.offer_fallback_url) == ("click_id", "")
        assert info.bot_detection_enabled is True and info.interstitial is None
        assert info.offer_is_live(dt.datetime.now(dt.UTC))

    def test_an_unknown_link_is_none(self, owner: Any) -> None:
        assert link_info_load("zzzzzzz") is None

    def test_djangos_cursor_gives_the_same(self, owner: Any, monkeypatch: Any) -> None:
        """The embedded default (not PostgreSQL) runs the same SQL through Django's cursor."""
        made = offer(owner, interstitial_mode="custom", interstitial_template=template(owner, "T"))
        link = minted(owner, {"offer": made.pk}, campaign="C")
        prepared = link_info_load(link.link_id)
        monkeypatch.setattr(connection, "vendor", "sqlite")
        assert link_info_load(link.link_id) == prepared


@pytest.mark.django_db(transaction=True)
def test_a_connection_lost_between_requests_is_opened_again(owner: Any) -> None:
    """PostgreSQL restarted: the lookup is the cold redirect's first statement."""
    link = minted(owner, {"url": "https://shop.example/"})
    backend = connection.connection.info.backend_pid
    with psycopg.connect(connection.connection.info.dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])
    info = link_info_load(link.link_id)
    assert info is not None and info.link_id == link.link_id
    assert connection.connection.info.backend_pid != backend


@pytest.mark.django_db(transaction=True)
def test_a_lookup_prepared_before_a_migration_is_prepared_again(owner: Any) -> None:
    """A release's migration changed a column the statement returns while this
    connection held it: PostgreSQL refuses the old plan ("cached plan must not change
    result type"); the lookup prepares it again on a new connection."""
    link = minted(owner, {"url": "https://shop.example/"})
    assert link_info_load(link.link_id) is not None  # prepared on this connection
    backend = connection.connection.info.backend_pid
    table = "links_messageshortlink"
    with psycopg.connect(connection.connection.info.dsn, autocommit=True) as admin:
        admin.execute(f"ALTER TABLE {table} ALTER COLUMN destination_url TYPE varchar(2001)")
        try:
            info = link_info_load(link.link_id)
        finally:
            admin.execute(f"ALTER TABLE {table} ALTER COLUMN destination_url TYPE varchar(2000)")
    assert info is not None and info.destination_template == "https://shop.example/"
    assert connection.connection.info.backend_pid != backend
