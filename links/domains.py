"""Tracking-domain lookup by Host header, through the cache.

Every request to a tracking host needs this, so it is cached (Redis when configured, shared
by every web process), unknown hosts included, and checked against the config version
that links.resolve bumps on any change (a domain, its account, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

from links.models import TrackingDomain
from links.resolve import config_cached

CACHE_SECONDS = 300


@dataclass(frozen=True)
class DomainInfo:
    id: int
    account_id: int
    host: str
    fallback_url: str


def tracking_domain_by_host(host: str) -> DomainInfo | None:
    if not host or len(host) > 253:
        return None

    def load() -> DomainInfo | None:
        row = (
            TrackingDomain.objects.filter(host=host, is_active=True, account__is_active=True)
            .values_list("id", "account_id", "host", "fallback_url")
            .first()
        )
        return DomainInfo(*row) if row else None

    return config_cached(domain_key(host), load, seconds=CACHE_SECONDS)


def domain_key(host: str) -> str:
    return f"trackdomain:{host}"
