"""Account workflows."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import transaction

from core import hooks
from core.models import Account, ApiKey, SendingList, TrackingDomain, normalize_host


@dataclass(frozen=True)
class NewAccount:
    """A new account and its two secrets, in clear this once (only their hashes are kept)."""

    account: Account
    api_key: str
    postback_token: str


def parse_domain(value: str) -> tuple[str, bool, int | None]:
    """`go.brand.com` -> https, no port; `http://127.0.0.1:8000` -> http, port 8000."""
    value = value.strip()
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError(f"{value!r} is not a host name such as go.brand.com")
    return normalize_host(parts.hostname), parts.scheme == "https", parts.port


def account_create(*, name: str, domain: str | None = None, fallback_url: str = "") -> NewAccount:
    """A new account with an API key, a postback token (it requires one on /conv, the
    default) and its tracking domain."""
    parsed = parse_domain(domain) if domain else None
    with transaction.atomic():
        account = Account(name=name)
        postback_token = account.rotate_postback_token()
        account.save()
        if parsed:
            host, https, port = parsed
            TrackingDomain.objects.create(
                account=account,
                host=host,
                https=https,
                port=port,
                fallback_url=fallback_url,
                is_primary=True,
            )
        _, raw_key = ApiKey.generate(account=account)
    return NewAccount(account, raw_key, postback_token)


def account_postback_token_rotate(account: Account) -> str:
    """A new postback token for the account, returned in clear this once; the old one stops
    working at once here and within a second on every web process (the save bumps the
    config version the cached tracking domains carry the token's hash under)."""
    token = account.rotate_postback_token()
    # update_fields: a concurrent settings change must not be overwritten with stale values.
    account.save(update_fields=["postback_token_hash"])
    return token


def sending_list_bot_detection_switch(sending_list: SendingList, enabled: bool) -> None:
    """Bot detection on or off for a list: its counted clicks are recomputed in the
    background (a big list has many, attribution's receiver of the hook queues it), once
    this change is committed."""
    pk = sending_list.pk
    transaction.on_commit(lambda: hooks.bot_detection_switched.send(pk, enabled))
