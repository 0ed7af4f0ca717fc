"""Minted links written to the shared cache once the mint commits (links.resolve.links_cache):
a blast's first tap is one Redis round trip and no SQL; the entries expire after
MINT_CACHE_SECONDS; a Redis outage at mint still mints; a change after the mint is seen."""

from __future__ import annotations

import datetime as dt
import logging
import pickle
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import redis_conn
from core.models import InterstitialTemplate
from links import resolve
from links.domains import tracking_domain_by_host
from links.models import MessageShortLink
from links.resolve import link_info, link_info_load, link_infos_load, link_key
from tests.helpers import BROWSER, FrontClient, make_offer
from tests.servers import free_port

pytestmark = pytest.mark.django_db


def mint(account: Any, capture: Any, count: int = 1, **link: Any) -> list[str]:
    """`count` messages minted through the bulk API, their commit callbacks run (as after
    a real commit); their link ids."""
    items = [
        {"contact": {"external_id": f"blast-{i}"}, "body": "Go {{l}}",
         "links": {"l": link or {"url": f"https://shop.example.com/p/{i}"}}}
        for i in range(count)
    ]  # fmt: skip
    with capture(execute=True):
        response = account.post("/api/v1/messages/bulk", items)
    assert response.status_code == 201, response.content
    return [m["links"][0]["link_id"] for m in response.json()]


def stored_entry(link_id: str) -> Any:
    """The shared entry as the redirect reads it: (config version, LinkInfo), or None."""
    return cache.get(link_key(link_id))


class SQLSpy:
    """Django's queries, and the prepared statements (core.prepared, which Django's
    capture does not see) the lookup runs; both pass through to PostgreSQL."""

    def __init__(self, monkeypatch: Any) -> None:
        self.prepared: list[str] = []
        fetchone = resolve.prepared.fetchone

        def spied(sql: str, params: Any, **kwargs: Any) -> Any:
            self.prepared.append(sql)
            return fetchone(sql, params, **kwargs)

        monkeypatch.setattr(resolve.prepared, "fetchone", spied)
        self.django = CaptureQueriesContext(connection)

    def __enter__(self) -> SQLSpy:
        self.django.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.django.__exit__(*exc)

    @property
    def statements(self) -> list[str]:
        return [q["sql"] for q in self.django.captured_queries] + self.prepared


def test_a_minted_links_first_lookup_is_one_round_trip_and_no_sql(
    owner: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any
) -> None:
    offer = make_offer(owner, destination_url="https://adv.example/{click_id}")
    [link_id] = mint(owner, django_capture_on_commit_callbacks, offer=offer.pk)
    resolve.local.clear()  # another web process: nothing of its own cached
    redis_conn.round_trip((("PING",),))  # this thread's bare connection is open
    round_trips = redis_conn.round_trips()

    with SQLSpy(monkeypatch) as sql:
        info = link_info(link_id)

    assert sql.statements == []
    assert redis_conn.round_trips() - round_trips == 1  # the MGET of entry and version
    # What the redirect's own lookup loads, field for field.
    assert info is not None and info == link_info_load(link_id)
    assert (info.offer_id, info.destination_template) == (offer.pk, offer.destination_url)


def test_every_field_comes_back_from_the_compact_entry(
    owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The shared entry is LinkInfo's compact pickle (its values, times as microseconds,
    no field names): each field of a link that has them all, times and their zone
    included, comes back equal to the redirect's own load."""
    owner.account.utm_template = "utm_source=sms&utm_campaign={campaign}"
    owner.account.internal_ips = ["203.0.113.0/24"]
    owner.account.link_retention_days = 400
    owner.account.save()
    page = InterstitialTemplate.objects.create(
        account=owner.account, name="P", title="T", description="d", cta_text="Go"
    )
    offer = make_offer(
        owner,
        destination_url="https://adv.example/{click_id}",
        expires_at=timezone.now() + dt.timedelta(days=3, microseconds=7),
        interstitial_mode="custom",
        interstitial_template=page,
        rules=[{"device": "ios", "url": "https://apps.apple.com/x"}],
        variants=[{"name": "a", "url": "https://a.example.com/", "weight": 1}],
    )
    [link_id] = mint(owner, django_capture_on_commit_callbacks, offer=offer.pk)

    data = redis_conn.round_trip((("GET", resolve.shared_key(link_key(link_id))),))[0]
    _, info = pickle.loads(data)  # noqa: S301 - the test's own entry
    loaded = link_info_load(link_id)
    assert info == loaded
    assert (info.offer_expires_at, info.created_at) == (offer.expires_at, loaded.created_at)
    assert info.offer_expires_at.utcoffset() == dt.timedelta(0)
    assert info.interstitial is not None and info.rules and info.variants and info.utm_pairs
    assert info.internal_networks and info.link_retention_days == 400
    assert b"offer_expires_at" not in data and b"datetime" not in data  # no names, no dt


def test_a_blasts_first_taps_through_the_front_door_wait_on_no_sql(
    owner: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any, click_stream: Any
) -> None:
    tracking_domain_by_host(owner.domain.host)  # the domain in this process's cache
    link_ids = mint(owner, django_capture_on_commit_callbacks, count=3)
    redis_conn.round_trip((("PING",),))
    for i, link_id in enumerate(link_ids):
        round_trips = redis_conn.round_trips()
        with SQLSpy(monkeypatch) as sql:
            response = FrontClient(HTTP_HOST=owner.domain.host).get(
                f"/{link_id}", HTTP_USER_AGENT=BROWSER
            )
        assert response.status_code == 302
        assert urlsplit(response["Location"]).path == f"/p/{i}"
        assert sql.statements == []
        # The link's MGET, then the click's append (with the config version).
        assert redis_conn.round_trips() - round_trips == 2
    assert click_stream.xlen(click_stream_key()) == 3


def click_stream_key() -> str:
    from django.conf import settings

    return settings.CLICK_STREAM_KEY


def test_without_the_mint_cache_a_first_tap_loads_the_link(
    owner: Any, django_capture_on_commit_callbacks: Any, monkeypatch: Any, settings: Any
) -> None:
    """The contrast: MINT_CACHE_SECONDS=0 writes nothing, so the first lookup misses (an
    MGET), runs the redirect's statement and stores the entry (a SET)."""
    settings.MINT_CACHE_SECONDS = 0
    [link_id] = mint(owner, django_capture_on_commit_callbacks)
    assert stored_entry(link_id) is None
    redis_conn.round_trip((("PING",),))
    round_trips = redis_conn.round_trips()
    with SQLSpy(monkeypatch) as sql:
        assert link_info(link_id) is not None
    assert sql.prepared == [resolve._LINK_LOAD]
    assert redis_conn.round_trips() - round_trips == 2


def test_entries_expire_after_mint_cache_seconds(
    owner: Any, django_capture_on_commit_callbacks: Any, settings: Any
) -> None:
    client = redis_conn.client()
    [default] = mint(owner, django_capture_on_commit_callbacks)
    assert settings.MINT_CACHE_SECONDS == 72 * 3600
    assert 72 * 3600 - 60 < client.ttl(cache.make_key(link_key(default))) <= 72 * 3600

    settings.MINT_CACHE_SECONDS = 1234
    link_ids = mint(owner, django_capture_on_commit_callbacks, count=2)
    for link_id in link_ids:
        assert 1234 - 60 < client.ttl(cache.make_key(link_key(link_id))) <= 1234
        version, info = stored_entry(link_id)
        assert info == link_info_load(link_id)


def test_more_than_a_round_trip_of_links_are_all_cached(owner: Any) -> None:
    """Past MINT_CACHE_BATCH links: a statement and a round trip per thousand, every one
    cached, the ones not found left out."""
    link_ids = mint_many(owner, resolve.MINT_CACHE_BATCH + 5)
    cache.clear()
    assert resolve.links_cache([*link_ids, "nosuchlink"], seconds=60) == len(link_ids)
    assert all(stored_entry(link_id) is not None for link_id in link_ids)
    assert stored_entry("nosuchlink") is None


def test_sharded_each_entry_is_in_its_shards_slot_with_its_shards_version(
    owner: Any, settings: Any, monkeypatch: Any
) -> None:
    """CLICK_STREAM_SHARDS > 1 (links.shards): a link's entry carries its shard's hash tag
    and that shard's copy of the config version, so the redirect's one MGET (entry and
    version, one slot) finds it valid: first lookups are one round trip and no SQL."""
    from links import shards

    settings.CLICK_STREAM_SHARDS = 3
    link_ids = mint_many(owner, 30)
    cache.clear()
    resolve.link_config_changed()
    # The shards' copies of the version apart, as a change racing the levelling leaves them:
    # an entry written with another shard's copy would be stale at once.
    for shard, by in zip(shards.all_shards()[1:], (5, 9), strict=True):
        redis_conn.round_trip((("INCRBY", shard.version, by),), shard.version)
    assert resolve.links_cache(link_ids, seconds=60) == len(link_ids)
    used = {shards.of_key(link_key(link_id)).index for link_id in link_ids}
    assert len(used) == 3  # 30 links spread over every shard
    redis_conn.round_trip((("PING",),))
    for link_id in link_ids:
        round_trips = redis_conn.round_trips()
        with SQLSpy(monkeypatch) as sql:
            info = link_info(link_id)
        assert info is not None and info.link_id == link_id
        assert sql.statements == []
        assert redis_conn.round_trips() - round_trips == 1


def mint_many(account: Any, count: int) -> list[str]:
    items = [
        {"contact": {"external_id": f"many-{i}"}, "body": "Go {{l}}",
         "links": {"l": {"url": f"https://shop.example.com/m/{i}"}}}
        for i in range(count)
    ]  # fmt: skip
    response = account.post("/api/v1/messages/bulk", items)
    assert response.status_code == 201
    return [m["links"][0]["link_id"] for m in response.json()]


def test_the_batched_load_is_the_lookups_own(owner: Any) -> None:
    plain = mint_many(owner, 2)
    page = InterstitialTemplate.objects.create(
        account=owner.account, name="P", title="T", description="d", cta_text="Go"
    )
    offer = make_offer(owner, interstitial_mode="custom", interstitial_template=page)
    routed = owner.mint(body="{{l}}", links={"l": {"offer": offer.pk}}, list="L", campaign="C")
    link_ids = [*plain, routed["links"][0]["link_id"]]
    loaded = {info.link_id: info for info in link_infos_load(link_ids)}
    assert loaded == {link_id: link_info_load(link_id) for link_id in link_ids}


def test_a_redis_outage_at_mint_still_mints(
    owner: Any, django_capture_on_commit_callbacks: Any, settings: Any, caplog: Any
) -> None:
    reachable = settings.REDIS_URL
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    redis_conn.reset()
    with caplog.at_level(logging.WARNING, logger="links.resolve"):
        [link_id] = mint(owner, django_capture_on_commit_callbacks)
    assert MessageShortLink.objects.filter(link_id=link_id).exists()
    assert "minted links not cached" in caplog.text and "0 of 1 were" in caplog.text
    # Redis failing in the write itself (the circuit closed, as a moment later): the same.
    redis_conn.reset()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="links.resolve"):
        assert resolve.links_cache([link_id], seconds=60) == 0
    assert "Connection refused): 0 of 1 were" in caplog.text

    settings.REDIS_URL = reachable
    redis_conn.reset()
    assert stored_entry(link_id) is None
    assert link_info(link_id) == link_info_load(link_id)  # the first tap loads it


def test_a_change_after_the_mint_is_seen(
    owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    offer = make_offer(owner, destination_url="https://adv.example/old")
    [plain] = mint(owner, django_capture_on_commit_callbacks)
    [offered] = mint(owner, django_capture_on_commit_callbacks, offer=offer.pk)
    assert stored_entry(plain) is not None and stored_entry(offered) is not None

    link = MessageShortLink.objects.get(link_id=plain)
    link.destination_url = "https://shop.example.com/moved"
    with django_capture_on_commit_callbacks(execute=True):
        link.save()
    offer.destination_url = "https://adv.example/new"
    with django_capture_on_commit_callbacks(execute=True):
        offer.save()

    resolve.local.clear()  # another process: only the shared entries to go by
    assert link_info(plain).destination_template == "https://shop.example.com/moved"
    assert link_info(offered).destination_template == "https://adv.example/new"
