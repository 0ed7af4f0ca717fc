"""Data-centre traffic: whether a click's network makes its browser agent a bot.

Security scanners fetch links with browser user agents from cloud and hosting networks;
people do not browse from there. The networks are the AS names listed, with their origin
and date, in `attribution/data/hosting_networks.txt` (patterns matched against the whole
name geoip2fast gives, links.places). Mobile carriers and residential ISPs are never on
it; nor are Apple, Akamai's CDN, Fastly or Cloudflare.

The exemption: iPhones on iCloud Private Relay reach us from Apple, Akamai, Cloudflare and
Fastly addresses, so a Safari or iOS agent (links.agents) from any network of those four
companies (Akamai Connected Cloud, which is listed, included) is never flagged.

Pure; the judge (attribution.bot_checks) calls it for clicks still judged human, on lists
with `datacenter_check` on. Cached per (network, agent).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from links.agents import agent_parse

DATACENTER_PREFIX = "behaviour:datacenter:"
NETWORKS_FILE = Path(__file__).resolve().parent / "data" / "hosting_networks.txt"
_REASON_MAX = 100  # the click's bot_reason column
# iCloud Private Relay's egress partners, by any of their AS names.
_RELAY_RE = re.compile(r"\b(?:apple|akamai|cloudflare|fastly)", re.IGNORECASE)
_SLUG_RE = re.compile(r"[^a-z0-9]+")


def hosting_patterns(path: Path = NETWORKS_FILE) -> list[str]:
    """The file's patterns: one a line, `#` comments and blank lines skipped."""
    patterns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        pattern = line.split("#", 1)[0].strip()
        if pattern:
            patterns.append(pattern)
    return patterns


_HOSTING_RE = re.compile("|".join(f"(?:{p})" for p in hosting_patterns()), re.IGNORECASE)


def is_hosting(network: str) -> bool:
    return bool(network) and _HOSTING_RE.fullmatch(network.strip()) is not None


def network_slug(network: str) -> str:
    """'AMAZON-02' -> 'amazon-02'; 'OVH SAS' -> 'ovh-sas'."""
    return _SLUG_RE.sub("-", network.lower()).strip("-")


@lru_cache(maxsize=65536)
def datacenter_reason(network: str, user_agent: str) -> str | None:
    """`behaviour:datacenter:<network slug>` when a browser agent comes from a hosting
    network, None otherwise (unknown network, not hosting, or the relay exemption)."""
    if not is_hosting(network):
        return None
    if _RELAY_RE.search(network):
        agent = agent_parse(user_agent)
        if agent.is_ios or "Safari" in agent.browser:
            return None
    return (DATACENTER_PREFIX + network_slug(network))[:_REASON_MAX]
