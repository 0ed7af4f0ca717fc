"""Tracking-domain lookup by Host header, through the cache.

Every request to a tracking host needs this, so it is cached (Redis when configured, shared
by every web process), unknown hosts included, and dropped whenever a domain changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

from links.models import TrackingDomain

CACHE_SECONDS = 300
_MISSING = "-"


@dataclass(frozen=True)
class DomainInfo:
    id: int
    account_id: int
    host: str
    fallback_url: str


def _key(host: str) -> str:
    return f"trackdomain:{host}"


def tracking_domain_by_host(host: str) -> DomainInfo | None:
    if not host or len(host) > 253:
        return None
    cached = cache.get(_key(host))
    if cached == _MISSING:
        return None
    if cached is not None:
        return cached
    row = (
        TrackingDomain.objects.filter(host=host, is_active=True, account__is_active=True)
        .values_list("id", "account_id", "host", "fallback_url")
        .first()
    )
    info = DomainInfo(*row) if row else None
    cache.set(_key(host), info or _MISSING, CACHE_SECONDS)
    return info


def tracking_domain_forget(host: str) -> None:
    cache.delete(_key(host))
