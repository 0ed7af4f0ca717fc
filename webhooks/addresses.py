"""Where a webhook may be sent: the rule against SSRF. A URL must be https, and its host
must resolve only to public addresses; http, loopback and private addresses only with
WEBHOOK_ALLOW_PRIVATE (development, tests). The sender checks the resolved address at
every delivery (a DNS answer can change after the URL was saved) and connects to the
address it checked."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """The URL or the address its host resolved to may not be sent to; the message says why."""


def address_is_public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def url_refusal(url: str, *, allow_private: bool | None = None) -> str | None:
    """Why `url` cannot be a webhook URL, from the URL alone (no DNS), or None."""
    allow = settings.WEBHOOK_ALLOW_PRIVATE if allow_private is None else allow_private
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an https:// URL with a host"
    if parts.scheme != "https" and not allow:
        return "must be https (http only with WEBHOOK_ALLOW_PRIVATE, for development)"
    if parts.username or parts.password:
        return "must not carry a user name or password"
    if port == 0:
        return "has no valid port"
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None and not allow and not address_is_public(literal):
        return "points at a private, loopback or reserved address"
    if not allow and parts.hostname.rstrip(".").lower() in ("localhost",):
        return "points at a private, loopback or reserved address"
    return None


def address_resolve(host: str, port: int, *, allow_private: bool | None = None) -> str:
    """The address to connect to for host:port, checked: every address the name resolves to
    must be public (else a rebinding name could pass one check and connect to another).
    Raises AddressRefused."""
    allow = settings.WEBHOOK_ALLOW_PRIVATE if allow_private is None else allow_private
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise AddressRefused(f"{host} does not resolve ({exc.strerror or exc})") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not addresses:
        raise AddressRefused(f"{host} does not resolve")
    if not allow:
        for address in addresses:
            if not address_is_public(address):
                raise AddressRefused(f"{host} resolves to a non-public address ({address})")
    return str(addresses[0])
