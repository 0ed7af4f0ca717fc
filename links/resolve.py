"""Everything the redirect needs to know about a link, in one cached object.

Two layers: this process's memory (no round trip), then Redis (one MGET of the entry and
the config version). On a miss it runs one query, joining the link to its message, list,
offer and interstitial template. Minting writes its links ahead (links_cache, the same
query for a thousand links at once), so a blast's first taps find them in Redis. Any
change to a link, offer, list, interstitial, domain or account bumps the config version:
the shared entries stop matching at once, and every process drops its own copies within
LOCAL_TRUST_SECONDS (the redirect, which reads the version on every request, at once).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import operator
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from core import prepared, redis_conn
from core.models import Offer
from core.networks import Network, networks_parse
from links import shards
from links.bots import is_internal
from links.routing import Rule, rules_of, utm_expand, utm_missing, variants_of

logger = logging.getLogger(__name__)
T = TypeVar("T")
CONFIG_VERSION_KEY = shards.CONFIG_VERSION_KEY
LINK_CACHE_SECONDS = 3600
_MISSING = "-"


@dataclass(frozen=True)
class Interstitial:
    title: str
    description: str
    cta_text: str
    og_title: str
    og_description: str
    og_image: str


@dataclass(frozen=True)
class LinkInfo:
    pk: int
    link_id: str
    account_id: int
    message_id: int
    contact_id: int
    offer_id: int | None
    campaign_id: int | None
    creative_id: int | None
    destination_template: str
    click_param: str
    offer_status: str | None
    offer_expires_at: dt.datetime | None
    offer_fallback_url: str
    bot_detection_enabled: bool
    interstitial: Interstitial | None
    # Test and internal traffic (links.bots.is_internal): the contact's and the list's
    # `is_test`, and the account's internal_ips, parsed once here (not at every click).
    contact_is_test: bool = False
    list_is_test: bool = False
    internal_networks: tuple[Network, ...] = ()
    # The A/B variant drawn for this link at mint (links.routing), "" for none.
    variant: str = ""
    # The offer's variants as they stand (name -> destination): the link's drawn name is
    # looked up here at the tap, so a removed variant falls back to the destination.
    variants: dict[str, str] = field(default_factory=dict)
    # The offer's routing rules, in order (links.routing.rule_match).
    rules: tuple[Rule, ...] = ()
    # For each target template (the destination, each variant's, each rule's): the pairs
    # of the UTM template (the campaign's, else the account's, expanded with this link's
    # names) it lacks (links.routing.utm_missing), worked out once here; the tap appends
    # them (links.decision.target_url) with string work only. Empty without a template.
    utm_pairs: dict[str, str] = field(default_factory=dict)
    # Retirement (links.decision.is_retired): when the link was minted and the account's
    # link_retention_days (None: links never retire).
    created_at: dt.datetime | None = None
    link_retention_days: int | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (the shared cache's entries) as one tuple of its values, its times as
        microseconds since the epoch: an aware datetime pickles in about 5 us (its tzinfo
        goes through copyreg). The whole entry then pickles in 2.4 us rather than 6.6 and
        unpickles in 3.2 rather than 6.0, in 173 bytes rather than 594 (Redis memory per
        cached link: 353 MiB a million rather than 863)."""
        values = list(_link_info_values(self))
        for index in _TIME_FIELDS:
            if values[index] is not None:
                values[index] = (values[index] - _EPOCH) // _MICROSECOND
        return (_link_info_restore, (tuple(values),))

    def is_internal(self, ip: str | None) -> bool:
        """Whether a click on this link from `ip` is test or internal traffic."""
        return is_internal(
            contact_is_test=self.contact_is_test,
            list_is_test=self.list_is_test,
            networks=self.internal_networks,
            ip=ip,
        )

    def offer_is_live(self, now: dt.datetime) -> bool:
        if self.offer_id is None:
            return True
        if self.offer_status != Offer.Status.ACTIVE:
            return False
        return self.offer_expires_at is None or self.offer_expires_at > now


_FIELD_NAMES = tuple(f.name for f in fields(LinkInfo))
_link_info_values = operator.attrgetter(*_FIELD_NAMES)
_TIME_NAMES = ("offer_expires_at", "created_at")
_TIME_FIELDS = tuple(_FIELD_NAMES.index(name) for name in _TIME_NAMES)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)


def _link_info_restore(values: tuple[Any, ...]) -> LinkInfo:
    """The LinkInfo LinkInfo.__reduce__ pickled (frozen: its attributes set as
    unpickling sets a dataclass's, in its __dict__, not through __init__)."""
    info = object.__new__(LinkInfo)
    state = info.__dict__
    state.update(zip(_FIELD_NAMES, values, strict=True))
    for name in _TIME_NAMES:
        if state[name] is not None:
            state[name] = _EPOCH + dt.timedelta(microseconds=state[name])
    return info


# Everything LinkInfo holds, in one statement (prepared on PostgreSQL: a blast's first
# clicks are mostly on links no process has cached). The interstitial is the offer's own
# template (mode custom) or its list's default (mode list default). The contact's and the
# list's test flags and the account's internal networks say which clicks are internal.
# Routing (links.routing): the offer's variants and rules, and the UTM template (the
# campaign's, else the account's) with the names it may use. The JSON columns come as
# text, so what is made of them is worked out once per process for each distinct value
# (_routing, _networks): a blast's links share their offer, campaign and account.
_LINK_SELECT = """
SELECT l.id, l.link_id, l.account_id, l.message_id, l.contact_id, l.offer_id,
       l.destination_url, m.campaign_id, m.creative_id, s.bot_detection_enabled,
       o.destination_url, o.click_param, o.status, o.expires_at, o.fallback_url,
       c.is_test, s.is_test, CAST(a.internal_ips AS text), l.variant,
       CAST(o.variants AS text), CAST(o.rules AS text),
       COALESCE(NULLIF(cp.utm_template, ''), a.utm_template),
       cp.name, cr.name, s.name, m.channel, o.name,
       l.created_at, a.link_retention_days,
       t.id, t.title, t.description, t.cta_text, t.og_title, t.og_description, t.og_image
FROM links_messageshortlink l
JOIN trackly_message m ON m.id = l.message_id
JOIN trackly_contact c ON c.id = l.contact_id
JOIN trackly_account a ON a.id = l.account_id
LEFT JOIN trackly_campaign cp ON cp.id = m.campaign_id
LEFT JOIN trackly_creative cr ON cr.id = m.creative_id
LEFT JOIN trackly_sendinglist s ON s.id = m.sending_list_id
LEFT JOIN trackly_offer o ON o.id = l.offer_id
LEFT JOIN links_interstitialtemplate t ON t.id = CASE o.interstitial_mode
    WHEN %s THEN o.interstitial_template_id
    WHEN %s THEN s.default_interstitial_id
END
"""
_LINK_LOAD = _LINK_SELECT + "WHERE l.link_id = %s"
# The same for many links at once (minting's cache writes, link_infos_load): the one-link
# statement run for each id of one array parameter. LATERAL ... LIMIT 1 keeps it that
# plan (index lookups per id) whatever the table's statistics: written as
# `l.link_id = ANY(%s)`, the planner chose parallel sequential scans and hash joins on
# tables a bulk mint had just filled, at twice the cost.
_LINKS_WANTED = "SELECT x.* FROM unnest(%s::text[]) AS wanted(link_id) CROSS JOIN LATERAL ("
_LINKS_LOAD = f"{_LINKS_WANTED}{_LINK_SELECT}WHERE l.link_id = wanted.link_id LIMIT 1) AS x"  # noqa: S608 - constant text


def _modes() -> list[str]:
    """The statement's first two parameters: the interstitial modes it tells apart."""
    return [Offer.InterstitialMode.CUSTOM.value, Offer.InterstitialMode.LIST_DEFAULT.value]


def link_info_load(link_id: str) -> LinkInfo | None:
    # `reconnect`: on a cold link this is the request's first statement.
    row = prepared.fetchone(_LINK_LOAD, [*_modes(), link_id], reconnect=True)
    return None if row is None else _link_info_of(row)


def link_infos_load(link_ids: Sequence[str]) -> list[LinkInfo]:
    """link_info_load for many links in one statement (the same SELECT, the same LinkInfo
    from each row); links not found are left out. Prepared on PostgreSQL: planning it
    was a sixth of its cost."""
    if not link_ids:
        return []
    if connection.vendor == "postgresql":
        rows = prepared.fetchall(_LINKS_LOAD, [list(link_ids), *_modes()])
    else:  # the embedded default (SQLite): one placeholder per link
        marks = ", ".join(["%s"] * len(link_ids))
        sql = f"{_LINK_SELECT}WHERE l.link_id IN ({marks})"  # noqa: S608 - placeholders only
        rows = prepared.fetchall(sql, [*_modes(), *link_ids])
    return [_link_info_of(row) for row in rows]


def _link_info_of(row: Sequence[Any]) -> LinkInfo:
    """A LinkInfo from one row of _LINK_SELECT."""
    (pk, code, account_id, message_id, contact_id, offer_id, link_destination, campaign_id,
     creative_id, bot_detection_enabled, offer_destination, click_param, offer_status,
     expires_at, fallback_url, contact_is_test, list_is_test, internal_ips, variant,
     offer_variants, offer_rules, utm_template, campaign, creative, sending_list, channel,
     offer, created_at, link_retention_days, template_id, *template) = row  # fmt: skip
    has_offer = offer_id is not None
    destination = offer_destination if has_offer else link_destination
    link_click_param = click_param if has_offer else "click_id"
    # The destination and the names enter the routing only through a UTM template:
    # without one, every link of an offer (or of none) shares one _routing entry (keyed
    # by its own destination, each minted link's missed it).
    routing = _routing(
        destination if utm_template else "",
        link_click_param,
        offer_variants or "[]",
        offer_rules or "[]",
        utm_template or "",
        (campaign, creative, sending_list, channel, offer) if utm_template else _NO_NAMES,
    )
    return LinkInfo(
        pk=pk,
        link_id=code,
        account_id=account_id,
        message_id=message_id,
        contact_id=contact_id,
        offer_id=offer_id,
        campaign_id=campaign_id,
        creative_id=creative_id,
        destination_template=destination,
        click_param=link_click_param,
        offer_status=offer_status,
        offer_expires_at=_aware(expires_at),
        offer_fallback_url=fallback_url if has_offer else "",
        # No list: bot detection on, the default.
        bot_detection_enabled=bot_detection_enabled is None or bool(bot_detection_enabled),
        interstitial=Interstitial(*template) if template_id is not None else None,
        contact_is_test=bool(contact_is_test),
        list_is_test=bool(list_is_test),
        internal_networks=_networks(internal_ips or "[]"),
        variant=variant or "",
        variants=routing.variants,
        rules=routing.rules,
        utm_pairs=routing.utm_pairs,
        created_at=_aware(created_at),
        link_retention_days=link_retention_days,
    )


@dataclass(frozen=True)
class _Routing:
    variants: dict[str, str]
    rules: tuple[Rule, ...]
    utm_pairs: dict[str, str]


@functools.lru_cache(maxsize=4096)
def _routing(
    destination: str,
    click_param: str,
    variants_json: str,
    rules_json: str,
    utm_template: str,
    names: tuple[str | None, ...],
) -> _Routing:
    """What a link's routing needs, from its offer's columns and its names (shared, never
    changed, by every LinkInfo made from the same values)."""
    variants = variants_of(_json_list(variants_json))
    rules = rules_of(_json_list(rules_json))
    utm = utm_expand(utm_template, dict(zip(UTM_NAMES, names, strict=True)))
    return _Routing(variants, rules, _utm_pairs(utm, click_param, destination, variants, rules))


UTM_NAMES = ("campaign", "creative", "list", "channel", "offer")  # _routing's names, in order
_NO_NAMES = (None,) * len(UTM_NAMES)


@functools.lru_cache(maxsize=1024)
def _networks(internal_ips_json: str) -> tuple[Network, ...]:
    return networks_parse(_json_list(internal_ips_json))


def _utm_pairs(
    utm: str, click_param: str, destination: str, variants: dict[str, str], rules: tuple[Rule, ...]
) -> dict[str, str]:
    """For each target template, the UTM pairs it lacks; the click id appended later
    (links.destination) counts as a parameter the target has."""
    if not utm:
        return {}
    targets = {destination, *variants.values(), *(rule.url for rule in rules)}
    return {
        target: utm_missing(
            target,
            utm,
            also_has=(click_param,) if click_param and "{click_id}" not in target else (),
        )
        for target in targets
    }


def _json_list(value: Any) -> list[Any]:
    """A JSON column as the raw cursor gives it: decoded on PostgreSQL, text on SQLite."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return value if isinstance(value, list) else []


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """A timestamp as the ORM would give it: SQLite's raw cursor returns it naive (UTC)."""
    if value is not None and timezone.is_naive(value):
        value = value.replace(tzinfo=dt.UTC)
    return value


class _ProcessCache:
    """This process's copy of what config_cached read, valid for one config version.

    Trusted for LOCAL_TRUST_SECONDS after the version was last read from the shared cache,
    so a change reaches every process within that time; the redirect reads the version
    on every request anyway (with its stream append, links.click_stream) and so sees a
    change at once. Bounded: cleared when it grows past LOCAL_MAX_ENTRIES.
    """

    def __init__(self) -> None:
        self.version: int | None = None
        self.confirmed = 0.0
        self.entries: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        if self.version is None or time.monotonic() - self.confirmed > LOCAL_TRUST_SECONDS:
            return _ABSENT
        return self.entries.get(key, _ABSENT)

    def peek(self, key: str) -> Any:
        """This process's copy whatever its age, or None: for a caller that checks the
        version itself in the same breath (the redirect's front door)."""
        return self.entries.get(key)

    def put(self, key: str, version: int, value: Any) -> None:
        self.version_seen(version)
        if len(self.entries) >= LOCAL_MAX_ENTRIES:
            self.entries.clear()
        self.entries[key] = value

    def version_seen(self, version: int) -> bool:
        """Record the shared version just read; True when it differs from ours."""
        changed = version != self.version
        if changed:
            self.entries.clear()
            self.version = version
        self.confirmed = time.monotonic()
        return changed

    def clear(self) -> None:
        self.version, self.confirmed = None, 0.0
        self.entries.clear()


LOCAL_TRUST_SECONDS = 1.0
LOCAL_MAX_ENTRIES = 100_000
_ABSENT = object()
local = _ProcessCache()


def config_cached(key: str, load: Callable[[], T | None], *, seconds: int) -> T | None:
    """`load()`, through the cache, valid while the config version is unchanged.

    This process's copy first (no round trip); else one round trip (MGET of the entry and
    the version) on a hit, one SET more on a miss. Misses are cached too (for a minute),
    so a scanner guessing ids or hosts cannot hammer the database. With the shared cache
    unreachable, straight to the database.
    """
    value = local.get(key)
    if value is not _ABSENT:
        return value
    if redis_conn.configured() and redis_conn.client() is None:
        return load()  # Redis is down: the circuit is open, read the source
    try:
        version, entry = _shared_get(key)
    except redis_conn.ROUND_TRIP_ERRORS as exc:
        redis_conn.failed(exc, "config read from PostgreSQL")
        return load()
    if entry is not None and entry[0] == version:
        value = None if entry[1] == _MISSING else entry[1]
        local.put(key, version, value)
        return value
    value = load()
    try:
        if value is None:
            _shared_set(key, (version, _MISSING), 60)
        else:
            _shared_set(key, (version, value), seconds)
    except redis_conn.ROUND_TRIP_ERRORS as exc:
        redis_conn.failed(exc, "config not cached")
        return value
    local.put(key, version, value)
    return value


# With Redis, the shared entries are read and written on this thread's bare connection
# (core.redis_conn.round_trip: redis-py's client costs about 50 us of Python per call,
# and a blast's first clicks each make two), in the format Django's Redis cache uses (an
# int as digits, anything else pickled), so `cache` reads and clears the same entries.
# Sharded (links.shards), an entry's key carries a shard's hash tag and is read with
# that shard's copy of the version: one slot, so one node of a cluster, one round trip.
def _shared_get(key: str) -> tuple[int, Any]:
    """(the config version, the entry or None)."""
    if not redis_conn.configured():
        cached = cache.get_many([key, CONFIG_VERSION_KEY])
        return cached.get(CONFIG_VERSION_KEY, 0), cached.get(key)
    shard = shards.of_key(key)
    [(version, entry)] = redis_conn.round_trip(
        (("MGET", shard.version, shared_key(key, shard)),), shard.version
    )
    return int(version or 0), pickle.loads(entry) if entry is not None else None  # noqa: S301 - our own cache


def _shared_set(key: str, entry: tuple[int, Any], seconds: int) -> None:
    if not redis_conn.configured():
        cache.set(key, entry, seconds)
        return
    shard = shards.of_key(key)
    redis_conn.round_trip((_set_command(key, entry, seconds, shard),), shard.version)


def _set_command(
    key: str, entry: tuple[int, Any], seconds: int, shard: shards.Shard
) -> tuple[object, ...]:
    """The SET that stores a shared entry, as _shared_get reads it (in its shard's slot)."""
    data = pickle.dumps(entry, pickle.HIGHEST_PROTOCOL)
    return ("SET", shared_key(key, shard), data, "EX", seconds)


def shared_key(key: str, shard: shards.Shard | None = None) -> str:
    """A config entry's key as stored in Redis: the cache's key (`cache.get(key)` reads
    it) unsharded; sharded, with the hash tag of its shard (links.shards.of_key) first."""
    shard = shard or shards.of_key(key)
    return cache.make_key(f"{shard.tag}:{key}" if shard.tag else key)


MINT_CACHE_BATCH = 1000  # links loaded in one statement and SET in one round trip


def links_cache(link_ids: Sequence[str], *, seconds: int) -> int:
    """Put these links' LinkInfo in the shared cache ahead of their first tap (minting,
    once its transaction is committed): the entry link_info would have stored, so a
    blast's first taps are each one MGET and no SQL. Returns how many were cached.

    Loaded by link_infos_load (the redirect's own statement), a thousand links per
    statement and per pipelined round trip of SETs, each expiring after `seconds`. Under
    the config version read before the first load, so every invalidation applies to them.
    Race: a change (of the link, offer, list, domain or account) committed during the
    loads bumps the version after its commit, so an entry loaded before it is stale at
    once; one committed before is in the rows. Nothing without Redis (the embedded
    default's cache is per process), and nothing but a log line when Redis is down: the
    mint stands and the first taps load the links as before.
    """
    if not link_ids or seconds <= 0 or not redis_conn.configured():
        return 0
    cached = 0
    if redis_conn.client() is None:  # Redis failed a moment ago: the circuit is open
        _not_cached(cached, link_ids, "Redis was unreachable a moment ago")
        return 0
    try:
        # Each shard's entries carry that shard's copy of the version (links.shards): read
        # them all before the first load (one round trip each; one shard unsharded).
        versions: dict[int, int] = {}
        for shard in shards.all_shards():
            [version] = redis_conn.round_trip((("GET", shard.version),), shard.version)
            versions[shard.index] = int(version or 0)  # type: ignore[arg-type]
        for start in range(0, len(link_ids), MINT_CACHE_BATCH):
            infos = link_infos_load(link_ids[start : start + MINT_CACHE_BATCH])
            by_shard: dict[int, tuple[shards.Shard, list[tuple[object, ...]]]] = {}
            for info in infos:
                key = link_key(info.link_id)
                shard = shards.of_key(key)
                entry = (versions[shard.index], info)
                by_shard.setdefault(shard.index, (shard, []))[1].append(
                    _set_command(key, entry, seconds, shard)
                )
            for shard, commands in by_shard.values():
                redis_conn.round_trip(commands, shard.version)
            cached += len(infos)
    except redis_conn.ROUND_TRIP_ERRORS as exc:
        redis_conn.failed(exc, "minted links not cached")
        _not_cached(cached, link_ids, f"{type(exc).__name__}: {exc}")
    return cached


def _not_cached(cached: int, link_ids: Sequence[str], why: str) -> None:
    logger.warning(
        "minted links not cached (%s): %d of %d were; their first taps load them",
        why,
        cached,
        len(link_ids),
    )


def config_version_key() -> str:
    """The version's key as stored in Redis, unsharded (with the cache's prefix, settled
    at start-up; links.shards works it out once)."""
    return shards.all_shards()[0].version


def link_info(link_id: str) -> LinkInfo | None:
    return config_cached(
        link_key(link_id), lambda: link_info_load(link_id), seconds=LINK_CACHE_SECONDS
    )


def link_key(link_id: str) -> str:
    # v2: with issue 17's routing fields (an entry an older release pickled has no
    # variants or utm_pairs, which have no class default: it must not be read). v3: the
    # compact pickle (LinkInfo.__reduce__), which a release before it cannot read.
    return f"link:v3:{link_id}"


def link_config_changed() -> None:
    """Invalidate every cached link, on every web process (this one at once, the others
    within LOCAL_TRUST_SECONDS)."""
    local.clear()
    if shards.all_shards()[0].tag and redis_conn.configured():
        _versions_bump()
        return
    try:
        try:
            cache.incr(CONFIG_VERSION_KEY)
        except ValueError:
            # First change ever (or the cache was flushed): start the counter. add() loses
            # to a concurrent add, and then the incr lands on the winner's key.
            if not cache.add(CONFIG_VERSION_KEY, 1, timeout=None):
                cache.incr(CONFIG_VERSION_KEY)
    except redis_conn.ERRORS as exc:
        # The change is saved; cached copies expire on their own (LINK_CACHE_SECONDS).
        logger.error("config changed but Redis is unreachable (%s): caches not invalidated", exc)


# Raise a key's counter to ARGV[1] if it is lower (or missing); never lowers it.
_RAISE = """
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if v < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""


def _versions_bump() -> None:
    """Sharded: bump every shard's copy of the version (links.shards), then raise any
    copy left behind to the highest, so all copies agree again (a process that saw two
    different versions would keep dropping its cached links).
    Race: two changes at once each INCR every copy (each copy strictly increases, so each
    change invalidates) and each raises the laggards to its own highest; raising never
    lowers a copy, so once both are done every copy holds the higher of the two."""
    client = redis_conn.client()
    try:
        if client is None:
            raise redis_conn.ERRORS[0]("Redis left alone after a failure")
        versions_level(client, bump=True)
    except redis_conn.ROUND_TRIP_ERRORS as exc:
        logger.error("config changed but Redis is unreachable (%s): caches not invalidated", exc)


def versions_level(client: Any, *, bump: bool = False) -> int:
    """Each shard's copy of the config version brought to the highest of them (after an
    INCR of each, with `bump`), which is returned. The consumers call this now and then,
    so a copy that a Redis node lost (restarted empty) comes back level with the others.
    One pipeline (on a cluster, one round trip per node), then a raise per laggard."""
    keys = [shard.version for shard in shards.all_shards()]
    pipeline = client.pipeline(transaction=False)
    for key in keys:
        if bump:
            pipeline.incr(key)
        else:
            pipeline.get(key)
    values = [int(v or 0) for v in pipeline.execute()]
    top = max(values)
    for key, value in zip(keys, values, strict=True):
        if value < top:
            client.eval(_RAISE, 1, key, top)
    return top
