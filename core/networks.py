"""An account's internal networks (`Account.internal_ips`): CIDR strings checked where they
enter (the API, the admin) and parsed once for the redirect. Pure: no Django imports."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

from core import bounds

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def network_normalise(value: Any) -> str:
    """One CIDR as stored: host bits cleared ("203.0.113.7/24" -> "203.0.113.0/24"), a bare
    address as its single-address network ("2001:db8::1" -> "2001:db8::1/128"). ValueError
    with a sentence a person can act on for anything else."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("Must be an IPv4 or IPv6 network in CIDR form, e.g. 203.0.113.0/24.")
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not an IPv4 or IPv6 network in CIDR form, e.g. 203.0.113.0/24."
        ) from exc


def networks_normalise(values: Any) -> list[str]:
    """A whole list as stored (normalised, duplicates dropped, order kept); ValueError naming
    the first bad entry, or the bound (core.bounds.MAX_INTERNAL_NETWORKS)."""
    if not isinstance(values, list):
        raise ValueError("Must be a list of IPv4 or IPv6 networks in CIDR form.")
    if len(values) > bounds.MAX_INTERNAL_NETWORKS:
        raise ValueError(f"At most {bounds.MAX_INTERNAL_NETWORKS} networks.")
    return list(dict.fromkeys(network_normalise(value) for value in values))


@functools.lru_cache(maxsize=1024)
def _parsed(values: tuple[str, ...]) -> tuple[Network, ...]:
    networks = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except (TypeError, ValueError):
            continue  # stored before validation, or by hand: skipped, never a failed click
    return tuple(networks)


def networks_parse(values: Iterable[Any] | None) -> tuple[Network, ...]:
    """The stored list as network objects, skipping anything unparsable. Cached: every link
    of an account shares its account's list."""
    if not values:
        return ()
    return _parsed(tuple(str(v) for v in values))


def ip_in_networks(ip: str | None, networks: Sequence[Network]) -> bool:
    """Whether the client address is inside one of the networks (an IPv4-mapped IPv6
    address counts as its IPv4 address)."""
    if not networks or not ip:
        return False
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return any(address in net or (mapped is not None and mapped in net) for net in networks)
