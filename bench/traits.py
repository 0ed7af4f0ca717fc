"""What classifying a click costs the consumer: links.traits.click_traits (device, OS and
browser by user-agents; country and network by geoip2fast) per click, on real people's
agents (fake-useragent's browser data) and random public IPv4 addresses.

Three figures, medians of BENCH_REPEATS (5) passes over BENCH_CLICKS (20,000) clicks:
- cold: every agent and IP new to the process (the caches cleared before each pass), an
  upper bound;
- campaign: agents drawn from a pool of BENCH_AGENTS (2,000) real ones (a campaign's
  audience shares few), each IP new (a contact each): what a blast's clicks cost;
- warm: the same agent and IP again (wrk's benchmark traffic): a dictionary lookup.
Also the one-off database load. Compare with the consumer's cost per stored click that
`make bench-redirect` prints.

    .venv/bin/python bench/traits.py
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

import fake_useragent

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from links import agents, places  # noqa: E402
from links.traits import click_traits  # noqa: E402

CLICKS = int(os.environ.get("BENCH_CLICKS", "20000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
AGENTS = int(os.environ.get("BENCH_AGENTS", "2000"))


def people_agents() -> list[str]:
    path = Path(fake_useragent.__file__).parent / "data" / "browsers.jsonl"
    import json

    with path.open() as f:
        return [json.loads(line)["useragent"] for line in f if line.strip()]


def public_ips(n: int, rng: random.Random) -> list[str]:
    ips = []
    while len(ips) < n:
        first = rng.randint(1, 223)
        if first in (10, 127, 100, 169, 172, 192):
            continue
        ips.append(f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
    return ips


def per_click_us(pairs: list[tuple[str, str]], clear: bool) -> float:
    runs = []
    for _ in range(REPEATS):
        if clear:
            agents.agent_parse.cache_clear()
            places.place_of.cache_clear()
        start = time.perf_counter()
        for ip, ua in pairs:
            click_traits(ip, ua)
        runs.append((time.perf_counter() - start) / len(pairs) * 1e6)
    return statistics.median(runs)


def main() -> None:
    rng = random.Random(17)
    corpus = people_agents()
    start = time.perf_counter()
    places.place_of("73.0.0.1")
    load = time.perf_counter() - start
    cold = [(ip, rng.choice(corpus)) for ip in public_ips(CLICKS, rng)]
    pool = rng.sample(corpus, min(AGENTS, len(corpus)))
    campaign_agents = [rng.choice(pool) for _ in range(CLICKS)]
    for ua in pool:  # the pool's agents already seen: a campaign's steady state
        agents.agent_parse(ua)
    ips = public_ips(CLICKS, rng)
    campaign = list(zip(ips, campaign_agents, strict=True))
    warm = [("73.0.0.1", corpus[0])] * CLICKS
    print(f"geoip2fast database load: {load:.2f} s ({places.DATA_FILE}, data {places.DATA_DATE})")
    print(f"people's agents in the corpus: {len(corpus):,}; clicks per pass: {CLICKS:,}")
    print(f"cold (every agent and IP new): {per_click_us(cold, clear=True):.1f} us a click")
    campaign_runs = []
    for _ in range(REPEATS):
        places.place_of.cache_clear()  # every IP new, every pass
        start = time.perf_counter()
        for ip, ua in campaign:
            click_traits(ip, ua)
        campaign_runs.append((time.perf_counter() - start) / len(campaign) * 1e6)
    print(
        f"campaign (agents from {len(pool):,} seen, every IP new): "
        f"{statistics.median(campaign_runs):.1f} us a click"
    )
    print(f"warm (same agent and IP): {per_click_us(warm, clear=False):.2f} us a click")


if __name__ == "__main__":
    main()
