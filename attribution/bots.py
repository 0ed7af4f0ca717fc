"""Is this request a person or a bot? One pure function, used inline by the redirect.

`classify_request` gives a verdict and a reason a marketer can read. The bot-detection
issue replaces the rules; the signature stays.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

from user_agents import parse as parse_user_agent


class Verdict(NamedTuple):
    is_bot: bool
    reason: str  # "" for people


HUMAN = Verdict(False, "")


@lru_cache(maxsize=65536)
def classify_user_agent(user_agent: str) -> Verdict:
    ua = user_agent.strip()
    if not ua:
        return Verdict(True, "ua:empty")
    if ua in ("Mozilla/5.0", "Mozilla/4.0"):
        return Verdict(True, "ua:bare-mozilla")
    if parse_user_agent(ua).is_bot:
        return Verdict(True, "ua:crawler")
    return HUMAN


def classify_request(*, method: str, user_agent: str) -> Verdict:
    if method == "HEAD":
        return Verdict(True, "head-request")
    return classify_user_agent(user_agent)
