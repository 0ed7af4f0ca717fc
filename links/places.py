"""Where a click came from: its IP's country and network (autonomous system), offline.

From geoip2fast's bundled GeoLite2 Country + ASN data (IPv4 and IPv6; MaxMind's
GeoLite2, data of DATA_DATE, shipped inside the package: nothing is downloaded). The
database is loaded on first use (about 0.2 s and 110 MB per process), then a lookup
costs about 5 us, and a repeated IP a dictionary lookup. Pure; no Django.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

DATA_FILE = "geoip2fast-asn-ipv6.dat.gz"
DATA_DATE = "2024-06-18"  # the file's source_info: GeoLite2-CountryASN-IPv4IPv6-en-20240618
_NETWORK_MAX = 100  # the click's network column
_NO_NETWORK = {"", "IANA.ORG", "-", "--"}


@dataclass(frozen=True)
class Place:
    country: str | None  # ISO 3166 alpha-2, None when unknown (private, reserved, unlisted)
    network: str  # the autonomous system's name ("COMCAST-7922", "AMAZON-02"), "" unknown


UNKNOWN = Place(None, "")

_lock = threading.Lock()
_database = None


def _db():  # noqa: ANN202 - geoip2fast has no types
    global _database
    if _database is None:
        with _lock:  # Race: two threads' first lookups; one loads, the other waits.
            if _database is None:
                from geoip2fast import GeoIP2Fast

                _database = GeoIP2Fast(geoip2fast_data_file=DATA_FILE, verbose=False)
    return _database


def database_load() -> None:
    """Load the database now (a click consumer at start), not at its first click."""
    _db()


@lru_cache(maxsize=65536)
def place_of(ip: str | None) -> Place:
    """Private, reserved and malformed addresses are UNKNOWN (the database answers them
    with no country; checking with ipaddress first would cost as much as the lookup)."""
    if not ip:
        return UNKNOWN
    found = _db().lookup(ip)
    if getattr(found, "is_private", False):
        return UNKNOWN
    country = getattr(found, "country_code", "") or ""
    network = (getattr(found, "asn_name", "") or "").strip()
    return Place(
        country if len(country) == 2 and country.isalpha() else None,
        "" if network in _NO_NETWORK else network[:_NETWORK_MAX],
    )
