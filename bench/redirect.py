"""The redirect under load: the production web server on PostgreSQL and Redis, driven by
wrk at 64 connections for 10 s, first on /healthz of the same app, then on short links
(each request records a click). Prints req/s, p50, p99 and redirect/healthz ratios.

    make bench-redirect      # installs wrk (Debian package) when missing
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "8791"))
DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/trackly_bench_redirect"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
HOST = "go.bench.example"
CONNECTIONS, SECONDS, LINKS = 64, 10, 2000
SERVER = os.environ.get(
    "BENCH_SERVER", "gunicorn trackly.wsgi --workers 8 --worker-class sync"
).split()
ENV = {**os.environ, "DATABASE_URL": DATABASE_URL, "REDIS_URL": REDIS_URL, "LOG_LEVEL": "WARNING"}
UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def recreate_database() -> None:
    parts = urlsplit(DATABASE_URL)
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parts.path.lstrip("/")}"')


def manage(*args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=ENV,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None

    def http_error_302(self, req, fp, code, msg, headers):  # noqa: ANN001, ANN201
        return fp


def start_server() -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", *SERVER, "--bind", f"127.0.0.1:{PORT}", "--log-level", "warning"],
        cwd=ROOT, env=ENV,
    )  # fmt: skip
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=1)  # noqa: S310
            break
        except OSError:
            time.sleep(0.1)
    return server


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait()


def mint(api_key: str, count: int = LINKS) -> list[str]:
    items = [
        {"contact": {"external_id": f"c{i}"}, "body": "Deal {{link1}}",
         "links": {"link1": {"url": f"https://shop.example.com/p/{i}?utm=sms"}}}
        for i in range(count)
    ]  # fmt: skip
    request = urllib.request.Request(
        f"http://localhost:{PORT}/api/v1/messages/bulk",
        data=json.dumps(items).encode(),
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - loopback
        return [m["links"][0]["link_id"] for m in json.loads(response.read())]


def wrk(script: str) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(script)
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", "-s", f.name,
         f"http://127.0.0.1:{PORT}"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    os.unlink(f.name)

    def latency(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": latency("50%"),
        "p99": latency("99%"),
        "bad": float(non_2xx.group(1)) if non_2xx else 0.0,
        "errors": errors.group(1) if errors else "none",  # type: ignore[dict-item]
    }


def lua(paths: list[str]) -> str:
    listed = ",".join(f'"{p}"' for p in paths)
    return f"""
paths = {{{listed}}}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1],
                    {{["Host"] = "{HOST}", ["User-Agent"] = "{UA}"}})
end
"""


def main() -> None:
    recreate_database()
    manage("migrate", "--no-input", "-v", "0")
    api_key = json.loads(manage("create_account", "Bench", "--domain", HOST))["api_key"]
    server = start_server()
    try:
        link_ids = mint(api_key)
        wrk(lua([f"/{i}" for i in link_ids[:200]]))  # warm: caches, connections
        time.sleep(2)  # let the warm-up's last requests finish before emptying the tables
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            conn.execute("TRUNCATE links_messageclick, links_messageshortlinkclick CASCADE")
        health = wrk(lua(["/healthz"]))
        redirect = wrk(lua([f"/{i}" for i in link_ids]))
    finally:
        stop_server(server)
    with psycopg.connect(DATABASE_URL) as conn:
        clicks = conn.execute("SELECT count(*) FROM links_messageshortlinkclick").fetchone()[0]
    print(f"server: {' '.join(SERVER)}; wrk {CONNECTIONS} connections, {SECONDS} s each")
    for name, r in (("healthz", health), ("redirect", redirect)):
        print(
            f"{name:9} {r['rps']:9,.0f} req/s   p50 {r['p50']:7.2f} ms   p99 {r['p99']:7.2f} ms"
            f"   non-2xx/3xx {r['bad']:.0f}   socket errors: {r['errors']}"
        )
    print(f"ratio redirect/healthz: throughput {redirect['rps'] / health['rps']:.2f}, "
          f"p99 {redirect['p99'] / health['p99']:.2f}")  # fmt: skip
    print(f"clicks stored during the redirect run: {clicks:,}")


if __name__ == "__main__":
    main()
