"""Everything the redirect needs to know about a link, in one cached object.

Two layers: this process's memory (no round trip), then Redis (one MGET of the entry and
the config version). On a miss it runs one query, joining the link to its message, list,
offer and interstitial template. Any change to a link, offer, list, interstitial, domain
or account bumps the config version: the shared entries stop matching at once, and every
process drops its own copies within LOCAL_TRUST_SECONDS (the redirect, which reads the
version on every request, at once).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache

from links.models import InterstitialTemplate, MessageShortLink
from trackly import redis_conn
from trackly.models import Offer

logger = logging.getLogger(__name__)
T = TypeVar("T")
CONFIG_VERSION_KEY = "linkcfg:version"
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

    def offer_is_live(self, now: dt.datetime) -> bool:
        if self.offer_id is None:
            return True
        if self.offer_status != Offer.Status.ACTIVE:
            return False
        return self.offer_expires_at is None or self.offer_expires_at > now


def _interstitial(template: InterstitialTemplate | None) -> Interstitial | None:
    if template is None:
        return None
    return Interstitial(
        title=template.title,
        description=template.description,
        cta_text=template.cta_text,
        og_title=template.og_title,
        og_description=template.og_description,
        og_image=template.og_image,
    )


def link_info_load(link_id: str) -> LinkInfo | None:
    link = (
        MessageShortLink.objects.select_related(
            "message__sending_list__default_interstitial", "offer__interstitial_template"
        )
        .filter(link_id=link_id)
        .first()
    )
    if link is None:
        return None
    message, offer = link.message, link.offer
    sending_list = message.sending_list
    template = None
    if offer is not None:
        if offer.interstitial_mode == Offer.InterstitialMode.CUSTOM:
            template = offer.interstitial_template
        elif offer.interstitial_mode == Offer.InterstitialMode.LIST_DEFAULT and sending_list:
            template = sending_list.default_interstitial
    return LinkInfo(
        pk=link.pk,
        link_id=link.link_id,
        account_id=link.account_id,
        message_id=link.message_id,
        contact_id=link.contact_id,
        offer_id=link.offer_id,
        campaign_id=message.campaign_id,
        creative_id=message.creative_id,
        destination_template=offer.destination_url if offer else link.destination_url,
        click_param=offer.click_param if offer else "click_id",
        offer_status=offer.status if offer else None,
        offer_expires_at=offer.expires_at if offer else None,
        offer_fallback_url=offer.fallback_url if offer else "",
        bot_detection_enabled=sending_list.bot_detection_enabled if sending_list else True,
        interstitial=_interstitial(template),
    )


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
    if settings.REDIS_URL and redis_conn.client() is None:
        return load()  # Redis is down: the circuit is open, read the source
    try:
        cached: dict[str, Any] = cache.get_many([key, CONFIG_VERSION_KEY])
    except redis_conn.ERRORS as exc:
        redis_conn.failed(exc, "config read from PostgreSQL")
        return load()
    version = cached.get(CONFIG_VERSION_KEY, 0)
    entry = cached.get(key)
    if entry is not None and entry[0] == version:
        value = None if entry[1] == _MISSING else entry[1]
        local.put(key, version, value)
        return value
    value = load()
    try:
        if value is None:
            cache.set(key, (version, _MISSING), 60)
        else:
            cache.set(key, (version, value), seconds)
    except redis_conn.ERRORS as exc:
        redis_conn.failed(exc, "config not cached")
        return value
    local.put(key, version, value)
    return value


@functools.cache
def config_version_key() -> str:
    """The version's key as stored in Redis (with the cache's prefix, which is settled at
    start-up; worked out once, as the redirect asks on every request)."""
    return cache.make_and_validate_key(CONFIG_VERSION_KEY)


def link_info(link_id: str) -> LinkInfo | None:
    return config_cached(
        link_key(link_id), lambda: link_info_load(link_id), seconds=LINK_CACHE_SECONDS
    )


def link_key(link_id: str) -> str:
    return f"link:{link_id}"


def link_config_changed() -> None:
    """Invalidate every cached link, on every web process (this one at once, the others
    within LOCAL_TRUST_SECONDS)."""
    local.clear()
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
