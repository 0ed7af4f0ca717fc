"""Faults, on real servers of the test's own: PostgreSQL stopped during a burst, the
consumer killed mid-batch, Redis stopped. After each, every click answered is in the
database exactly once.

These start a private PostgreSQL and Redis (tests/servers.py), the web server (granian, as
in the Procfile) and `manage.py consume_clicks` as subprocesses, and talk to them over
loopback.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
import redis

from tests.helpers import BROWSER, wait_for
from tests.servers import PrivatePostgres, PrivateRedis, Trackly

HOST = "go.faults.example"
STREAM, GROUP = "trackly:clicks", "click-writers"
pytestmark = pytest.mark.slow


class Stack:
    def __init__(self) -> None:
        self.pg = PrivatePostgres()
        self.pg.start()
        self.redis = PrivateRedis()
        self.redis.start()
        # Links cached only on their first tap (the read-through cache these faults pin):
        # the cold link below must be in no cache. Mint-time caching: test_mint_cache.py.
        self.app = Trackly(self.pg.url, self.redis.url, MINT_CACHE_SECONDS="0")
        self.app.manage("migrate", "--no-input", "-v", "0")
        created = json.loads(self.app.manage("create_account", "Faults", "--domain", HOST))
        self.app.web_start()
        messages = self.app.api_post(
            "/api/v1/messages/bulk",
            created["api_key"],
            [
                {"contact": {"external_id": f"c{i}"}, "body": "{{link1}}",
                 "links": {"link1": {"url": f"https://shop.example/p/{i}"}}}
                for i in range(41)
            ],
        )  # fmt: skip
        self.link_ids = [m["links"][0]["link_id"] for m in messages]
        self.cold_link_id = self.link_ids.pop()  # never tapped: no cache holds it

    def tap(self, link_id: str) -> tuple[int, str | None]:
        """One redirect: (status, the click id handed to the destination)."""
        status, location, _ = self.get(f"/{link_id}")
        click_id = parse_qs(urlsplit(location).query).get("click_id", [None])[0]
        return status, click_id

    def get(self, path: str) -> tuple[int, str, str]:
        """(status, Location, Retry-After) of a GET on the tracking domain."""
        connection = http.client.HTTPConnection("127.0.0.1", self.app.port, timeout=10)
        try:
            connection.request("GET", path, headers={"Host": HOST, "User-Agent": BROWSER})
            response = connection.getresponse()
            response.read()
            return (
                response.status,
                response.getheader("Location") or "",
                response.getheader("Retry-After") or "",
            )
        finally:
            connection.close()

    def burst(
        self,
        seconds: float | None = None,
        threads: int = 8,
        results: list[tuple[int, str | None]] | None = None,
        until: threading.Event | None = None,
    ) -> list[tuple[int, str | None]]:
        """Taps from `threads` threads for `seconds`, or until `until` is set."""
        results = [] if results is None else results
        lock = threading.Lock()
        deadline = time.monotonic() + seconds if seconds is not None else None

        def going() -> bool:
            if until is not None:
                return not until.is_set()
            return time.monotonic() < deadline  # type: ignore[operator]

        def run(offset: int) -> None:
            n = offset
            while going():
                outcome = self.tap(self.link_ids[n % len(self.link_ids)])
                with lock:
                    results.append(outcome)
                n += threads

        workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return results

    def stored_click_ids(self) -> list[str]:
        with psycopg.connect(self.pg.url, connect_timeout=5) as conn:
            rows = conn.execute("SELECT click_id FROM links_messageshortlinkclick").fetchall()
        return [r[0] for r in rows]

    def stream(self) -> redis.Redis:
        return redis.Redis.from_url(self.redis.url)

    def settled(self, expected: set[str]) -> bool:
        try:
            return expected <= set(self.stored_click_ids())
        except psycopg.OperationalError:
            return False

    def destroy(self) -> None:
        self.app.stop()
        self.redis.destroy()
        self.pg.destroy()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    stack = Stack()
    try:
        yield stack
    finally:
        stack.destroy()


def assert_exactly_once(stack: Stack, answered: list[str]) -> None:
    wait_for(lambda: stack.settled(set(answered)), 60, "every answered click to be stored")
    stored = stack.stored_click_ids()
    assert len(stored) == len(set(stored))  # no click twice
    assert set(answered) <= set(stored)  # none lost


def test_postgres_stopped_for_20_seconds_during_a_burst(stack: Stack) -> None:
    stack.app.consumer_start()
    warm = [stack.tap(link_id) for link_id in stack.link_ids]  # caches the links
    assert {status for status, _ in warm} == {302}
    before = {click_id for _, click_id in warm}
    wait_for(lambda: stack.settled(before), 30, "the warm-up clicks")

    results: list[tuple[int, str | None]] = []
    done = threading.Event()
    burst = threading.Thread(target=stack.burst, kwargs={"results": results, "until": done})
    burst.start()
    wait_for(lambda: len(results) >= 100, 30, "the burst to be under way")
    stack.pg.stop()
    stopped_at = time.monotonic()
    before_outage = len(results)
    # What no cache can answer is asked to come back (and not stored), never a 500: a
    # link never tapped, and a postback (the network retries it).
    assert stack.get(f"/{stack.cold_link_id}")[::2] == (503, "5")
    assert stack.get("/conv?click_id=abc&revenue=1")[::2] == (503, "5")
    # The burst keeps being answered while PostgreSQL is down (a count, not a rate).
    wait_for(lambda: len(results) >= before_outage + 100, 20, "redirects during the outage")
    # The outage itself: PostgreSQL stays down 20 s whatever the checks above took (the
    # scenario's length, not a timer the test races).
    time.sleep(max(0.0, 20 - (time.monotonic() - stopped_at)))
    stack.pg.start()
    restarted = len(results)
    wait_for(lambda: len(results) >= restarted + 100, 30, "redirects after the restart")
    done.set()
    burst.join()

    statuses = {status for status, _ in results}
    assert statuses == {302}, f"every redirect answered 302, got {statuses}"
    answered = [click_id for _, click_id in results if click_id]
    assert len(answered) == len(results)
    assert_exactly_once(stack, [*before, *answered])
    stack.app.consumers_stop()


@pytest.mark.parametrize("failpoint", ["before-commit", "after-commit"])
def test_the_consumer_killed_in_the_middle_of_a_batch(stack: Stack, failpoint: str) -> None:
    results = [stack.tap(stack.link_ids[n % len(stack.link_ids)]) for n in range(200)]
    answered = [click_id for _, click_id in results]
    assert {status for status, _ in results} == {302}
    already = set(stack.stored_click_ids())

    crashing = stack.app.consumer_start(CLICK_CONSUMER_FAILPOINT=failpoint)
    assert crashing.wait(timeout=30) == -9  # SIGKILLed itself in the middle of the batch
    stored = set(stack.stored_click_ids()) - already
    if failpoint == "before-commit":
        assert stored == set()  # the open transaction died with it
    else:
        assert stored == set(answered)  # committed, never acknowledged
    assert stack.stream().xpending(STREAM, GROUP)["pending"] == len(answered)

    stack.app.consumer_start()  # a new consumer takes the dead one's batch over
    assert_exactly_once(stack, answered)
    wait_for(lambda: stack.stream().xpending(STREAM, GROUP)["pending"] == 0, 30, "acks")
    assert stack.stream().xlen(STREAM) == 0
    stack.app.consumers_stop()


def test_redis_stopped_the_redirect_writes_directly(stack: Stack) -> None:
    stack.redis.stop()
    try:
        results = stack.burst(seconds=3, threads=4)
        assert results and {status for status, _ in results} == {302}
        answered = [click_id for _, click_id in results]
        # No consumer runs and the stream is gone: these were written by the web server.
        assert_exactly_once(stack, answered)
    finally:
        stack.redis.start()
    log = (stack.app.logs / "web.log").read_text()
    assert "Redis unreachable" in log


def test_a_change_reaches_every_web_process_within_a_second(stack: Stack) -> None:
    """Saved in another process (here a shell; in life the admin on another machine):
    both web workers answer from the new configuration a second later."""
    unknown = "/zzzzzzz"

    def status_of(path: str) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", stack.app.port, timeout=10)
        try:
            connection.request("GET", path, headers={"Host": HOST, "User-Agent": BROWSER})
            response = connection.getresponse()
            response.read()
            return response.status, response.getheader("Location") or ""
        finally:
            connection.close()

    assert {status_of(unknown)[0] for _ in range(20)} == {404}  # cached by both workers
    stack.app.manage(
        "shell",
        "-c",
        "from core.models import TrackingDomain as D; d = D.objects.get(host='go.faults.example');"
        " d.fallback_url = 'https://fallback.example/'; d.save()",
    )
    # Each web process trusts its copy of the domain for at most a second: within a few
    # (a loaded machine), every answer of both workers carries the change.
    fallback = (302, "https://fallback.example/")
    wait_for(lambda: {status_of(unknown) for _ in range(20)} == {fallback}, 5,
             "both workers to serve the new fallback")  # fmt: skip
    answers = {status_of(unknown) for _ in range(20)}
    assert answers == {(302, "https://fallback.example/")}
