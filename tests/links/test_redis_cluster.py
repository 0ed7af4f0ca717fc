"""The caches and the click stream on a real three-node Redis Cluster (REDIS_CLUSTER_NODES),
the stream in shards (CLICK_STREAM_SHARDS, links.shards), read by consumers that claim
shards (links.click_shards).

The cluster is the test's own (tests/servers.py: three redis-servers on free ports, joined
by `redis-cli --cluster create`). The end-to-end test runs the web server and two
`consume_clicks` as production does, on the cluster; this process mints and changes the
config through the same cluster.
"""

from __future__ import annotations

import http.client
import os
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
import redis
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from core import redis_conn
from links import resolve, shards
from links.click_shards import ShardedConsumer
from links.click_stream import ClickEvent
from links.models import MessageClick, MessageShortLinkClick
from tests.helpers import BROWSER, make_offer_and_secret, wait_for
from tests.servers import PrivateRedisCluster, Trackly
from trackly import ratelimit

SHARDS = 4  # shards 0..3 hash to slots 13907, 9842, 5649, 1584: all three nodes


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[PrivateRedisCluster]:
    cluster = PrivateRedisCluster(3)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture
def on_cluster(settings: Any, redis_cluster: PrivateRedisCluster) -> Iterator[Any]:
    """This process's caches and click stream on the cluster, in SHARDS shards."""
    settings.REDIS_CLUSTER_NODES = redis_cluster.addresses
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cluster_cache.RedisClusterCache",
            "LOCATION": redis_cluster.addresses,
            "KEY_PREFIX": "trackly",
        }
    }
    settings.CLICK_STREAM = True
    settings.CLICK_STREAM_KEY = "trackly:clicks"
    settings.CLICK_STREAM_SHARDS = SHARDS
    settings.CLICK_STREAM_LEASE_SECONDS = 1.0
    settings.CLICK_STREAM_CLAIM_IDLE_SECONDS = 0.5
    # A loaded CI box can take longer than production's 0.5 s to answer: a timed-out
    # append is written directly (correct, but then not in the stream the test counts).
    settings.REDIS_SOCKET_TIMEOUT = 5.0
    redis_conn.reset()
    resolve.local.clear()
    cache.clear()  # every primary's keys: each test starts from an empty cluster
    yield redis_cluster
    cache.clear()
    redis_conn.reset()
    resolve.local.clear()


def holder(cluster: PrivateRedisCluster, key: str) -> int:
    """Which node holds `key`, asked of each node directly (the others answer MOVED)."""
    for index, node in enumerate(cluster.nodes):
        try:
            redis.Redis(port=node.port).exists(key)
        except redis.exceptions.MovedError:
            continue
        return index
    raise LookupError(key)


def test_one_shard_keeps_the_stream_key(settings: Any) -> None:
    settings.CLICK_STREAM_KEY = "trackly:clicks"
    settings.CLICK_STREAM_SHARDS = 1
    [shard] = shards.all_shards()
    assert shard.stream == "trackly:clicks"
    assert shard.version == cache.make_key("linkcfg:version")
    assert resolve.shared_key("link:v3:abc") == cache.make_key("link:v3:abc")
    settings.CLICK_STREAM_SHARDS = 3
    assert shards.stream_keys() == [
        "trackly:clicks:{0}",
        "trackly:clicks:{1}",
        "trackly:clicks:{2}",
    ]


def test_the_cache_works_on_the_cluster(on_cluster: PrivateRedisCluster) -> None:
    values = {f"key-{i}": {"n": i} for i in range(30)}  # slots on every node
    cache.set_many(values, 60)
    assert cache.get_many(list(values)) == values
    assert {holder(on_cluster, cache.make_key(k)) for k in values} == {0, 1, 2}
    cache.set("counter", 1)
    assert cache.incr("counter") == 2
    assert cache.add("counter", 5) is False
    cache.delete_many(list(values))
    assert cache.get_many(list(values)) == {}
    # The API rate limit's counter (a transaction on one key).
    assert [ratelimit._redis_count("cluster-test", 0, 60) for _ in range(2)] == [1, 2]
    # The config entries' bare-connection path (links.resolve): one round trip each.
    calls: list[int] = []
    assert resolve.config_cached("thing:1", lambda: calls.append(1) or "v", seconds=60) == "v"
    resolve.local.clear()
    before = redis_conn.round_trips()
    assert resolve.config_cached("thing:1", lambda: calls.append(1) or "v", seconds=60) == "v"
    assert redis_conn.round_trips() - before == 1 and calls == [1]


def test_a_config_change_bumps_every_shards_version(on_cluster: PrivateRedisCluster) -> None:
    keys = [shard.version for shard in shards.all_shards()]
    assert len({holder(on_cluster, key) for key in keys}) == 3  # on all three nodes
    plain = redis_conn.client()
    resolve.link_config_changed()
    first = [int(plain.get(key)) for key in keys]
    assert len(set(first)) == 1
    # A node that lost its copy (restarted empty): the next change levels it again.
    plain.delete(keys[2])
    resolve.link_config_changed()
    assert [int(plain.get(key)) for key in keys] == [first[0] + 1] * SHARDS
    # ...and so does a consumer's tick, without a change.
    plain.delete(keys[1])
    assert resolve.versions_level(plain) == first[0] + 1
    assert [int(plain.get(key)) for key in keys] == [first[0] + 1] * SHARDS


def _event(n: int) -> dict[str, Any]:
    return ClickEvent(
        click_id=f"cid{n}", link_id="x", account_id=1, clicked_at=timezone.now(), ip=None,
        user_agent=BROWSER, referer="", accept_language="", method="GET",
    ).fields()  # fmt: skip


def test_consumers_split_the_shards_and_take_over_a_dead_ones(
    on_cluster: PrivateRedisCluster,
) -> None:
    client = redis_conn.connect(connect_timeout=2, timeout=5)
    a = ShardedConsumer(client, name="a")
    b = ShardedConsumer(client, name="b")
    a.tick()
    assert len(a.held) == SHARDS  # alone, it holds every shard
    b.tick()  # b counts two consumers: it takes what is free (nothing yet)
    a.tick()  # a gives back what is beyond its share
    b.tick()
    assert len(a.held) == len(b.held) == SHARDS // 2
    assert set(a.held) | set(b.held) == set(range(SHARDS))
    # a reads an entry of one of its shards and dies before storing it.
    index = min(a.held)
    stream = shards.all_shards()[index].stream
    client.xadd(stream, _event(1))
    assert a.held[index].read(None)  # delivered to a, pending, never acknowledged
    assert client.xpending(stream, a.group)["pending"] == 1
    # b alone renews: a's leases run out, its heartbeat too; b takes every shard.
    wait_for(lambda: len(b.tick()) == SHARDS, 10, "b to take over a's shards")
    # a's pending entry goes to b once idle (XAUTOCLAIM); b reads it.
    taken: list[Any] = []
    wait_for(lambda: taken.extend(b.held[index].read(None)) or taken, 10, "b to claim a's entry")
    assert [fields[b"c"] for _, fields in taken] == [b"cid1"]
    b.release_all()
    assert client.exists(f"{stream}:lease") == 0
    client.close()


def _get(port: int, host: str, path: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers={"Host": host, "User-Agent": BROWSER})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_clicks_through_the_cluster_are_stored_once(
    owner: Any, on_cluster: PrivateRedisCluster, tmp_path: Any
) -> None:
    offer, _ = make_offer_and_secret(owner, destination_url="https://adv.example/v1")
    # Links until every shard has some (a link's shard is its id's CRC-32, links.shards).
    links: dict[int, list[str]] = {i: [] for i in range(SHARDS)}
    while min(len(v) for v in links.values()) < 2:
        message = owner.mint(body="{{l}}", links={"l": {"offer": offer.pk}})
        link_id = message["links"][0]["link_id"]
        links[shards.of_link(link_id).index].append(link_id)
    database = urlsplit(os.environ["DATABASE_URL"])._replace(
        path=f"/{connection.settings_dict['NAME']}"
    )
    app = Trackly(
        urlunsplit(database),
        os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),  # Celery's broker only
        REDIS_CLUSTER_NODES=",".join(on_cluster.addresses),
        CLICK_STREAM="true",
        CLICK_STREAM_SHARDS=str(SHARDS),
        CLICK_STREAM_LEASE_SECONDS="2",
        REDIS_SOCKET_TIMEOUT="5",
    )
    host = owner.domain.host
    answered: list[str] = []
    lock = threading.Lock()

    def taps(link_ids: list[str], times: int, want: str) -> None:
        for _ in range(times):
            for link_id in link_ids:
                response = _get(app.port, host, f"/{link_id}")
                assert response.status == 302, response.status
                location = response.getheader("Location")
                assert location.startswith(want), location
                with lock:
                    answered.append(parse_qs(urlsplit(location).query)["click_id"][0])

    everyone = [link_id for ids in links.values() for link_id in ids]
    try:
        app.web_start()
        taps(everyone, 5, "https://adv.example/v1")  # every web process caches them
        # Clicks are in every shard, and the shards on all three nodes.
        plain = redis_conn.client()
        lengths = {s.index: plain.xlen(s.stream) for s in shards.all_shards()}
        assert all(lengths.values()) and sum(lengths.values()) == len(answered), lengths
        assert {holder(on_cluster, s.stream) for s in shards.all_shards()} == {0, 1, 2}
        # A config change, once per shard: the first tap after it, on that shard's links,
        # is answered from the new config (the redirect read that shard's version).
        for index in range(SHARDS):
            offer.destination_url = f"https://adv.example/v2-{index}"
            offer.save()
            taps(links[index], 1, f"https://adv.example/v2-{index}")
        # Two consumers store them, splitting the shards.
        app.consumer_start()
        app.consumer_start()
        wait_for(
            lambda: MessageShortLinkClick.objects.count() >= len(answered), 120,
            "the consumers to store every click",
        )  # fmt: skip
        wait_for(
            lambda: all(plain.xlen(s.stream) == 0 for s in shards.all_shards()), 30,
            "the shards to be empty",
        )  # fmt: skip
        # ...which they split between them (each renews its leases while it lives).
        wait_for(lambda: len(_holders(plain) - {None}) == 2, 30, "both consumers to hold shards")
    finally:
        app.stop()
    stored = list(MessageShortLinkClick.objects.values_list("click_id", flat=True))
    assert sorted(stored) == sorted(answered)  # every click, once
    assert MessageClick.objects.count() == len(everyone)  # one counted click per message


def _holders(client: Any) -> set[Any]:
    return {client.get(f"{s.stream}:lease") for s in shards.all_shards()}
