"""Tracking-domain lookup by Host header, through the cache.

Every request to a tracking host needs this, so it is cached (Redis when configured, shared
by every web process), unknown hosts included, and checked against the config version
that links.resolve bumps on any change (a domain, its account, ...).

It carries the account's postback-token rule and the token's hash (never the token), so a
postback to /conv is checked without a query; a rotated token or a changed rule saves the
account, which bumps the version.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.models import TrackingDomain, secret_matches
from links.resolve import config_cached

CACHE_SECONDS = 300


@dataclass(frozen=True)
class DomainInfo:
    id: int
    account_id: int
    host: str
    fallback_url: str
    require_postback_token: bool
    postback_token_hash: str = field(repr=False)  # kept out of any log line

    def postback_token_matches(self, token: str) -> bool:
        return secret_matches(self.postback_token_hash, token)


def tracking_domain_by_host(host: str) -> DomainInfo | None:
    if not host or len(host) > 253:
        return None

    def load() -> DomainInfo | None:
        row = (
            TrackingDomain.objects.filter(host=host, is_active=True, account__is_active=True)
            .values_list(
                "id",
                "account_id",
                "host",
                "fallback_url",
                "account__require_postback_token",
                "account__postback_token_hash",
            )
            .first()
        )
        return DomainInfo(*row) if row else None

    return config_cached(domain_key(host), load, seconds=CACHE_SECONDS)


def domain_key(host: str) -> str:
    # v2: with the postback token's fields (an entry an older release cached has none).
    return f"trackdomain:v2:{host}"
