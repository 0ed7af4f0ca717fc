"""The redirect's front door in one process, no web server or wrk: microseconds per tap
(median of BENCH_REPEATS passes of BENCH_TAPS taps, each a real front_door() call with
its Redis round trip and stream append), per kind of link in the database a
`make bench-redirect` run left behind: links of offers with routing rules, offers with A/B
variants only, and the rest. Isolates what the decision costs from what the web server,
wrk and the consumer cost in the full bench (longer Locations, more header bytes, the
consumer sharing the cores).

    BENCH_ROUTING=1 make bench-redirect   # leaves trackly_bench_redirect with routing
    .venv/bin/python bench/front_door.py  # BENCH_DATABASE_URL, BENCH_REDIS_URL as there
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trackly_bench_redirect"
)
os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trackly.settings")
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402

from core.models import Offer  # noqa: E402
from links.models import MessageShortLink  # noqa: E402
from trackly import wsgi  # noqa: E402

HOST = "go.bench.example"
TAPS = int(os.environ.get("BENCH_TAPS", "4000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "5"))
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def environ(link_id: str) -> dict[str, str]:
    return {
        "REQUEST_METHOD": "GET", "PATH_INFO": f"/{link_id}", "QUERY_STRING": "",
        "HTTP_HOST": HOST, "SERVER_NAME": HOST, "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1",
        "HTTP_USER_AGENT": UA, "HTTP_ACCEPT_LANGUAGE": "fr-FR,fr;q=0.8,en;q=0.5",
        "wsgi.url_scheme": "http",
    }  # fmt: skip


def kinds() -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for offer in Offer.objects.all():
        kind = "rules" if offer.rules else "variants" if offer.variants else "plain"
        links = MessageShortLink.objects.filter(offer=offer).values_list("link_id", flat=True)
        groups.setdefault(kind, []).extend(links[:1000])
    plain = MessageShortLink.objects.filter(offer__isnull=True).values_list("link_id", flat=True)
    groups.setdefault("plain", []).extend(plain[:1000])
    return {kind: ids for kind, ids in groups.items() if ids}


def main() -> None:
    groups = kinds()
    first = next(iter(groups.values()))[0]
    Client(HTTP_HOST=HOST).get(f"/{first}", HTTP_USER_AGENT=UA)  # the view caches the domain
    for ids in groups.values():
        for link_id in ids:  # every link in this process's cache, as in the bench's steady state
            wsgi.front_door(environ(link_id))
    for kind, ids in groups.items():
        runs = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            for n in range(TAPS):
                response = wsgi.front_door(environ(ids[n % len(ids)]))
            runs.append((time.perf_counter() - start) / TAPS * 1e6)
            assert response is not None and response.status_code == 302
        print(f"{kind:9} {len(ids):5,} links  {statistics.median(runs):6.1f} us a tap")


if __name__ == "__main__":
    main()
