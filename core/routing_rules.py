"""What an offer's A/B variants, its routing rules and a UTM template may be: the one
check, run wherever they enter (the offers, campaigns and account API, the admin).

In core, not links, because the API and admin that take them live here (a lower layer
never imports a higher one); links.routing, which draws, matches and expands them at mint
and at the tap, imports its vocabulary from here. Each `*_parse` returns the value as
stored (URLs converted to URIs, core.uris) or raises RoutingInvalid with a message for
the person who sent it, naming the entry and the key. Pure: no database, no request.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_plus

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from core import bounds, uris

VARIANT_KEYS = ("name", "url", "weight")
# A rule's conditions, in the order they are written back; `url` is its target.
RULE_CONDITIONS = ("device", "country", "language")
RULE_KEYS = (*RULE_CONDITIONS, "url")
# `ios` includes iPadOS; `mobile`, `tablet`, `desktop` are links.agents' device types.
RULE_DEVICES = ("ios", "android", "mobile", "tablet", "desktop")
# The name macros of a UTM template; each is replaced by the link's name, URL-encoded.
UTM_MACROS = ("campaign", "creative", "list", "channel", "offer")

_COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
_LANGUAGE_RE = re.compile(r"^[a-z]{2,8}$")
_MACRO_RE = re.compile(r"\{([^{}]*)\}")
_PRINTABLE_RE = re.compile(r"^[\x21-\x7e]*$")
_url_check = URLValidator(schemes=["http", "https"])


class RoutingInvalid(ValueError):
    """An input that is no valid variants list, rules list or UTM template; str() says why."""


def destination_parse(value: Any, where: str = "url") -> str:
    """An http(s) URL as an offer's destination_url is taken (macros allowed), as a URI."""
    if not isinstance(value, str) or not value.strip():
        raise RoutingInvalid(f"{where}: must be an http or https URL.")
    value = value.strip()
    if uris.has_raw_controls(value):
        raise RoutingInvalid(
            f"{where}: must not hold spaces or control characters (percent-encode them)."
        )
    try:
        value = uris.to_uri(value)
    except ValueError as exc:
        raise RoutingInvalid(f"{where}: {exc}") from exc
    if len(value) > bounds.MAX_DESTINATION_LENGTH:
        raise RoutingInvalid(f"{where}: at most {bounds.MAX_DESTINATION_LENGTH} characters.")
    try:
        _url_check(value)
    except ValidationError as exc:
        raise RoutingInvalid(f"{where}: must be an http or https URL.") from exc
    return value


def variants_parse(value: Any) -> list[dict[str, Any]]:
    """`[{"name", "url", "weight"}, ...]`: names 1 to 64 characters and unique, weights
    whole numbers from 0 (a paused variant), at least one above 0; `[]` for none."""
    entries = _list(value, "variants", bounds.MAX_OFFER_VARIANTS)
    parsed: list[dict[str, Any]] = []
    names: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"variants[{index}]"
        _keys(entry, where, VARIANT_KEYS, required=VARIANT_KEYS)
        name = entry["name"]
        if not isinstance(name, str) or not 1 <= len(name) <= bounds.MAX_VARIANT_NAME_LENGTH:
            raise RoutingInvalid(
                f"{where}.name: must be text of 1 to {bounds.MAX_VARIANT_NAME_LENGTH} characters."
            )
        if name in names:
            raise RoutingInvalid(f"{where}.name: {name!r} is the name of an earlier variant.")
        names.add(name)
        weight = entry["weight"]
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise RoutingInvalid(f"{where}.weight: must be a whole number from 0.")
        parsed.append(
            {"name": name, "url": destination_parse(entry["url"], f"{where}.url"), "weight": weight}
        )
    if parsed and not any(v["weight"] > 0 for v in parsed):
        raise RoutingInvalid("variants: at least one variant needs a weight above 0.")
    return parsed


def rules_parse(value: Any) -> list[dict[str, str]]:
    """`[{"device"?, "country"?, "language"?, "url"}, ...]`, in the order they are tried."""
    entries = _list(value, "rules", bounds.MAX_OFFER_RULES)
    parsed: list[dict[str, str]] = []
    for index, entry in enumerate(entries):
        where = f"rules[{index}]"
        _keys(entry, where, RULE_KEYS, required=("url",))
        rule: dict[str, str] = {}
        device = entry.get("device")
        if device is not None:
            if device not in RULE_DEVICES:
                raise RoutingInvalid(f"{where}.device: must be one of {', '.join(RULE_DEVICES)}.")
            rule["device"] = device
        country = entry.get("country")
        if country is not None:
            if not isinstance(country, str) or not _COUNTRY_RE.match(country):
                raise RoutingInvalid(
                    f"{where}.country: must be an ISO 3166 alpha-2 code in capitals (e.g. US)."
                )
            rule["country"] = country
        language = entry.get("language")
        if language is not None:
            if not isinstance(language, str) or not _LANGUAGE_RE.match(language):
                raise RoutingInvalid(
                    f"{where}.language: must be a primary language subtag in lower case (e.g. es)."
                )
            rule["language"] = language
        rule["url"] = destination_parse(entry["url"], f"{where}.url")
        parsed.append(rule)
    return parsed


def utm_template_parse(value: Any) -> str:
    """A query string (`utm_source=sms&utm_campaign={campaign}`), "" for none: printable
    ASCII (percent-encode the rest), each pair with a name, only the name macros."""
    if not isinstance(value, str):
        raise RoutingInvalid("Must be text.")
    value = value.strip()
    if value.startswith("?"):
        value = value[1:]
    if len(value) > bounds.MAX_UTM_TEMPLATE_LENGTH:
        raise RoutingInvalid(f"At most {bounds.MAX_UTM_TEMPLATE_LENGTH} characters.")
    if not _PRINTABLE_RE.match(value):
        raise RoutingInvalid(
            "Must be printable ASCII without spaces (percent-encode anything else)."
        )
    if "#" in value:
        raise RoutingInvalid("A query string holds no '#'.")
    for macro in _MACRO_RE.findall(value):
        if macro not in UTM_MACROS:
            raise RoutingInvalid(
                f"Unknown macro {{{macro}}}: the macros are "
                + ", ".join(f"{{{m}}}" for m in UTM_MACROS)
                + "."
            )
    outside = _MACRO_RE.sub("", value)
    if "{" in outside or "}" in outside:
        raise RoutingInvalid("A '{' or '}' outside a macro (percent-encode it).")
    for pair in value.split("&") if value else ():
        name = pair.partition("=")[0]
        if not unquote_plus(name):
            raise RoutingInvalid(f"Each parameter needs a name: {pair!r} has none.")
        if _MACRO_RE.search(name):
            raise RoutingInvalid(f"Macros go in values, not names: {name!r}.")
    return value


def _list(value: Any, field: str, limit: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RoutingInvalid(f"{field}: must be a list.")
    if len(value) > limit:
        raise RoutingInvalid(f"{field}: at most {limit} entries.")
    return value


def _keys(entry: Any, where: str, allowed: tuple[str, ...], *, required: tuple[str, ...]) -> None:
    if not isinstance(entry, dict):
        raise RoutingInvalid(f"{where}: must be an object.")
    unknown = sorted(set(entry) - set(allowed))
    if unknown:
        raise RoutingInvalid(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"the keys are {', '.join(allowed)}."
        )
    missing = [key for key in required if key not in entry]
    if missing:
        raise RoutingInvalid(f"{where}: {', '.join(missing)} required.")
