"""What a click came from, as stored on it: device, OS, browser (links.agents) and
country, network (links.places). Worked out once per click, where it costs the redirect
nothing (the consumer, the direct write), or in the redirect for an offer with routing
rules (links.routing), which then carries the result on the stream entry."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from links.agents import agent_parse
from links.places import place_of


@dataclass(frozen=True)
class ClickTraits:
    device: str
    os: str
    browser: str
    country: str | None
    network: str


@lru_cache(maxsize=65536)
def click_traits(ip: str | None, user_agent: str) -> ClickTraits:
    """Cached per (IP, agent): a person's repeat taps, and a rules offer's taps in the
    redirect, cost one dictionary lookup."""
    agent = agent_parse(user_agent)
    place = place_of(ip)
    return ClickTraits(agent.device, agent.os, agent.browser, place.country, place.network)
