"""Where a tap goes besides the offer's destination: the A/B variant drawn at mint, the
routing rules matched at the tap, the UTM template merged into every target.

What each may be is core.routing_rules (the API and admin check it there); this module
is what they do: `variant_pick` (at mint, by a stable hash of the contact and message
over the weights of that moment), `rule_match` and `language_of` (at the tap, for an
offer with rules: links.decision), `utm_expand` (when a link's info is loaded:
links.resolve), `utm_missing` (the pairs each target lacks, at that load) and `utm_append`
(at the tap); `utm_merge` is the two in one. Pure: no Django, no I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote, unquote_plus, urlsplit

from core.routing_rules import UTM_MACROS
from links.agents import ANDROID_FAMILY, IOS_FAMILIES
from links.traits import ClickTraits


@dataclass(frozen=True)
class Rule:
    """One routing rule: every condition given must hold (None: any)."""

    url: str
    device: str | None = None
    country: str | None = None
    language: str | None = None

    def matches(self, traits: ClickTraits, language: str) -> bool:
        if self.device is not None and not device_is(self.device, traits):
            return False
        if self.country is not None and traits.country != self.country:
            return False
        return self.language is None or language == self.language


def device_is(device: str, traits: ClickTraits) -> bool:
    """A rule's device condition: `ios` and `android` by OS family (iPadOS is iOS), the
    others by device type (links.agents)."""
    if device == "ios":
        return traits.os in IOS_FAMILIES
    if device == "android":
        return traits.os == ANDROID_FAMILY
    return traits.device == device


def rules_of(stored: Any) -> tuple[Rule, ...]:
    """The offer's stored rules (checked when saved: core.routing_rules) as Rules; an
    entry that is somehow not one is skipped, never a failed tap."""
    if not isinstance(stored, list):
        return ()
    rules = []
    for entry in stored:
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            rules.append(
                Rule(
                    url=entry["url"],
                    device=entry.get("device"),
                    country=entry.get("country"),
                    language=entry.get("language"),
                )
            )
    return tuple(rules)


def variants_of(stored: Any) -> dict[str, str]:
    """The offer's stored variants as name -> url (a link keeps its drawn name; the url
    is the offer's of now)."""
    if not isinstance(stored, list):
        return {}
    return {
        v["name"]: v["url"]
        for v in stored
        if isinstance(v, dict) and isinstance(v.get("name"), str) and isinstance(v.get("url"), str)
    }


def rule_match(rules: Sequence[Rule], traits: ClickTraits, language: str) -> Rule | None:
    """The first rule the click matches, or None."""
    for rule in rules:
        if rule.matches(traits, language):
            return rule
    return None


@lru_cache(maxsize=4096)
def language_of(accept_language: str) -> str:
    """The primary subtag, lower case, of the Accept-Language tag with the highest q
    (the first of equals); "" for none (absent, `*` only, or every q 0)."""
    best, best_q = "", 0.0
    for item in accept_language.split(","):
        tag, _, params = item.partition(";")
        tag = tag.strip()
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.split("-", 1)[0].lower()
        if not primary or primary == "*" or not primary.isalpha():
            continue
        if q > best_q:
            best, best_q = primary, q
    return best


def variant_pick(variants: Iterable[Mapping[str, Any]], contact_id: int, message_id: int) -> str:
    """The variant a new link of (contact, message) gets: a stable hash over the weights
    of this moment, so the same pair always draws the same name while the weights stand,
    and changed weights move only links minted later. "" when the offer has none."""
    weighted = [
        (v["name"], v["weight"])
        for v in variants
        if isinstance(v, Mapping) and isinstance(v.get("weight"), int) and v["weight"] > 0
    ]
    total = sum(weight for _, weight in weighted)
    if total == 0:
        return ""
    digest = hashlib.blake2b(f"{contact_id}:{message_id}".encode(), digest_size=8).digest()
    point = int.from_bytes(digest, "big") % total
    for name, weight in weighted:
        if point < weight:
            return name
        point -= weight
    raise AssertionError("unreachable: point < total")


def utm_expand(template: str, names: Mapping[str, str | None]) -> str:
    """The template with each name macro replaced by the link's name, URL-encoded ("" for
    a name the link has not, such as a link without a campaign)."""
    query = template
    for macro in UTM_MACROS:
        token = "{" + macro + "}"
        if token in query:
            query = query.replace(token, quote(names.get(macro) or "", safe=""))
    return query


def utm_merge(url: str, query: str) -> str:
    """`url` with the pairs of `query` its own query string lacks (a parameter the
    destination already has wins), before any fragment."""
    return utm_append(url, utm_missing(url, query))


def utm_missing(url: str, query: str, also_has: Iterable[str] = ()) -> str:
    """The pairs of `query` that `url`'s query string (and `also_has`) lacks, "&"-joined.
    Worked out once per target template when a link's info is loaded (links.resolve): a
    template's parameter names are what they are whatever its macros become."""
    if not query:
        return ""
    have = {name for name, _ in parse_qsl(urlsplit(url).query, keep_blank_values=True)}
    have.update(also_has)
    return "&".join(p for p in query.split("&") if unquote_plus(p.partition("=")[0]) not in have)


def utm_append(url: str, pairs: str) -> str:
    """`url` with `pairs` (utm_missing's) at the end of its query, before any fragment:
    string work only, at every tap."""
    if not pairs:
        return url
    base, hash_mark, fragment = url.partition("#")
    if "?" not in base:
        base += "?"
    elif not base.endswith(("?", "&")):
        base += "&"
    return base + pairs + hash_mark + fragment
