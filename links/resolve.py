"""Everything the redirect needs to know about a link, in one cached object.

A redirect reads one cache entry per link (one Redis round trip, with the config version
in the same MGET). On a miss it runs one query, joining the link to its message, list,
offer and interstitial template. Any change to a link, offer, list, interstitial, domain
or account bumps the config version, so every web process drops what it cached at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.cache import cache

from links.models import InterstitialTemplate, MessageShortLink
from trackly.models import Offer

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


def config_cached(key: str, load: Callable[[], T | None], *, seconds: int) -> T | None:
    """`load()`, through the cache, valid while the config version is unchanged.

    One round trip (MGET of the entry and the version) on a hit; one SET more on a miss.
    Misses are cached too (for a minute), so a scanner guessing ids or hosts cannot hammer
    the database.
    """
    cached: dict[str, Any] = cache.get_many([key, CONFIG_VERSION_KEY])
    version = cached.get(CONFIG_VERSION_KEY, 0)
    entry = cached.get(key)
    if entry is not None and entry[0] == version:
        return None if entry[1] == _MISSING else entry[1]
    value = load()
    if value is None:
        cache.set(key, (version, _MISSING), 60)
    else:
        cache.set(key, (version, value), seconds)
    return value


def link_info(link_id: str) -> LinkInfo | None:
    return config_cached(
        f"link:{link_id}", lambda: link_info_load(link_id), seconds=LINK_CACHE_SECONDS
    )


def link_config_changed() -> None:
    """Invalidate every cached link, on every web process."""
    try:
        cache.incr(CONFIG_VERSION_KEY)
    except ValueError:
        # First change ever (or the cache was flushed): start the counter. add() loses
        # to a concurrent add, and then the incr lands on the winner's key.
        if not cache.add(CONFIG_VERSION_KEY, 1, timeout=None):
            cache.incr(CONFIG_VERSION_KEY)
