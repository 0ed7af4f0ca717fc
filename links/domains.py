"""Tracking-domain lookup by Host header, through the cache.

Every request to a tracking host needs this, so it is cached (Redis when configured, shared
by every web process), unknown hosts included, and checked against the config version
that links.resolve bumps on any change (a domain, its account, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.cache import cache

from links.models import TrackingDomain
from links.resolve import CONFIG_VERSION_KEY

CACHE_SECONDS = 300
_MISSING = "-"


@dataclass(frozen=True)
class DomainInfo:
    id: int
    account_id: int
    host: str
    fallback_url: str


def tracking_domain_by_host(host: str) -> DomainInfo | None:
    if not host or len(host) > 253:
        return None
    key = f"trackdomain:{host}"
    cached: dict[str, Any] = cache.get_many([key, CONFIG_VERSION_KEY])
    version = cached.get(CONFIG_VERSION_KEY, 0)
    entry = cached.get(key)
    if entry is not None and entry[0] == version:
        return None if entry[1] == _MISSING else entry[1]
    row = (
        TrackingDomain.objects.filter(host=host, is_active=True, account__is_active=True)
        .values_list("id", "account_id", "host", "fallback_url")
        .first()
    )
    info = DomainInfo(*row) if row else None
    cache.set(key, (version, info or _MISSING), CACHE_SECONDS)
    return info
