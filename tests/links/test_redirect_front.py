"""The redirect's front door (links.redirect.front, wired in trackly.wsgi): it answers
the common case without Django's request cycle, and leaves everything else to the view.

Every behaviour of the redirect also runs through it in test_redirect.py (the "front"
door of TestRedirect); here: what it declines, that its answer is the view's, and the
hand-overs (config changed, Redis down) that must not store a tap twice or lose it.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, RequestFactory

from core import bounds, redis_conn
from core.models import Offer
from links import redirect, resolve
from links.click_writer import ClickConsumer
from links.domains import tracking_domain_by_host
from links.models import MessageShortLinkClick
from tests.helpers import make_offer
from trackly import wsgi

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"


def mint(account: Any, **link: Any) -> str:
    link = link or {"url": "https://shop.example/p?a=1"}
    return account.mint(body="{{link1}}", links={"link1": link})["links"][0]["link_id"]


def warm(account: Any, link_id: str) -> None:
    """As after an earlier click on this process: domain and link cached."""
    tracking_domain_by_host(account.domain.host)
    resolve.link_info(link_id)


def environ(host: str, path: str, method: str = "GET") -> dict[str, Any]:
    return RequestFactory().generic(method, path, HTTP_HOST=host, HTTP_USER_AGENT=BROWSER).environ


def stream_length(click_stream: Any) -> int:
    from django.conf import settings

    return click_stream.xlen(settings.CLICK_STREAM_KEY)


@pytest.mark.django_db
class TestFrontDoor:
    def test_it_answers_a_cached_link_with_the_views_very_headers(
        self, owner: Any, click_stream: Any
    ) -> None:
        link_id = mint(owner)
        by_view = Client(HTTP_HOST=owner.domain.host).get(f"/{link_id}")  # fills the cache
        by_front = redirect.front(environ(owner.domain.host, f"/{link_id}"))

        assert by_front is not None
        assert by_front.status_code == by_view.status_code == 302
        assert by_front.content == by_view.content == b""

        def shape(response: Any) -> dict[str, str]:
            headers = dict(response.items())
            location = urlsplit(headers.pop("Location"))
            return headers | {"Location": location._replace(query="").geturl()}

        assert shape(by_front) == shape(by_view)
        query = parse_qs(urlsplit(by_front["Location"]).query)
        assert query["a"] == ["1"] and len(query["click_id"][0]) == 16
        assert stream_length(click_stream) == 2

    @pytest.mark.parametrize(
        "case",
        [
            "domain not cached",
            "unknown link",
            "app host",
            "post",
            "not a link id",
            "other host",
            "too large",
        ],
    )
    def test_it_leaves_to_the_view_what_it_does_not_have_at_hand(
        self, owner: Any, outsider: Any, click_stream: Any, case: str
    ) -> None:
        link_id = mint(owner)
        if case != "domain not cached":
            warm(owner, link_id)
        host, path, method = owner.domain.host, f"/{link_id}", "GET"
        if case == "unknown link":
            path = "/Zzzzzzz"
            resolve.link_info("Zzzzzzz")  # cached as missing
        elif case == "app host":
            host = "localhost"
        elif case == "post":
            method = "POST"
        elif case == "not a link id":
            path = "/conv"
        elif case == "other host":
            host = outsider.domain.host  # the outsider's domain, the owner's link
            warm(outsider, link_id)
        elif case == "too large":
            path += "?pad=" + "x" * bounds.MAX_TRACKING_REQUEST_BYTES  # the view answers 413

        assert redirect.front(environ(host, path, method)) is None
        assert stream_length(click_stream) == 0  # nothing appended: the view will

    @pytest.mark.parametrize("where", ["redis", "postgresql"])
    def test_it_looks_up_a_link_this_process_has_not_seen(
        self, owner: Any, click_stream: Any, where: str
    ) -> None:
        """A blast: every contact's own link, tapped once. Only the domain is cached."""
        link_id = mint(owner)
        tracking_domain_by_host(owner.domain.host)
        if where == "redis":
            resolve.link_info(link_id)  # as another process did
            resolve.local.entries.pop(resolve.link_key(link_id))
        else:
            cache.delete(resolve.link_key(link_id))

        response = redirect.front(environ(owner.domain.host, f"/{link_id}"))

        assert response is not None and response.status_code == 302
        assert response["Location"].startswith("https://shop.example/p?a=1&click_id=")
        assert stream_length(click_stream) == 1
        assert isinstance(resolve.local.peek(resolve.link_key(link_id)), resolve.LinkInfo)
        [result] = ClickConsumer(click_stream).drain()
        assert result.stored == 1

    def test_with_postgresql_down_the_view_answers_503_without_trying_again(
        self, owner: Any, click_stream: Any, monkeypatch: Any
    ) -> None:
        from django.db import OperationalError

        link_id = mint(owner)
        tracking_domain_by_host(owner.domain.host)
        attempts: list[str] = []

        def down(*args: Any, **kwargs: Any) -> Any:
            attempts.append("lookup")
            raise OperationalError("connection refused")

        monkeypatch.setattr(resolve.prepared, "fetchone", down)
        from tests.links.test_redirect import FrontClient

        response = FrontClient(HTTP_HOST=owner.domain.host).get(f"/{link_id}")

        assert response.status_code == 503 and response["Retry-After"] == "5"
        assert attempts == ["lookup"]  # the front door's; the view did not try again
        assert stream_length(click_stream) == 0

    def test_a_config_change_seen_by_the_lookup_leaves_the_tap_to_the_view(
        self, owner: Any, click_stream: Any
    ) -> None:
        """Another process changed the config (say, deactivated this domain) after this
        one cached the domain: the link lookup reads the new version, and the cached
        domain may be stale, so the front door declines."""
        link_id = mint(owner)
        tracking_domain_by_host(owner.domain.host)
        resolve.cache.incr(resolve.CONFIG_VERSION_KEY)  # as another process would
        resolve.local.confirmed -= resolve.LOCAL_TRUST_SECONDS + 0.01  # a second later

        assert redirect.front(environ(owner.domain.host, f"/{link_id}")) is None
        assert stream_length(click_stream) == 0

    @pytest.mark.parametrize("case", ["interstitial", "paused offer", "expired offer"])
    def test_interstitials_and_ended_offers_are_the_views(
        self, owner: Any, click_stream: Any, case: str
    ) -> None:
        import datetime as dt

        from django.utils import timezone

        from core.models import InterstitialTemplate

        offer = make_offer(owner)
        if case == "interstitial":
            offer.interstitial_mode = Offer.InterstitialMode.CUSTOM
            offer.interstitial_template = InterstitialTemplate.objects.create(
                account=owner.account, name="Page", title="Hello"
            )
        elif case == "paused offer":
            offer.status = Offer.Status.PAUSED
        else:
            offer.expires_at = timezone.now() - dt.timedelta(minutes=1)
        offer.save()
        link_id = mint(owner, offer=offer.pk)
        warm(owner, link_id)

        assert redirect.front(environ(owner.domain.host, f"/{link_id}")) is None
        assert stream_length(click_stream) == 0

    def test_a_config_change_hands_the_appended_click_to_the_view(
        self, owner: Any, click_stream: Any
    ) -> None:
        """The front door appends, then learns the config changed: the view answers from
        the current config with that same click, so one tap is one click."""
        offer = make_offer(owner, fallback_url="https://adv.example/ended")
        link_id = mint(owner, offer=offer.pk)
        warm(owner, link_id)
        # Another process pauses the offer (its save bumps the shared version).
        Offer.objects.filter(pk=offer.pk).update(status=Offer.Status.PAUSED)
        cache.incr(resolve.CONFIG_VERSION_KEY)

        response = wsgi_call(owner.domain.host, f"/{link_id}")

        assert response["status"] == "302 Found"
        assert response["headers"]["Location"] == "https://adv.example/ended"
        assert stream_length(click_stream) == 1
        ClickConsumer(redis_conn.client()).drain()
        assert MessageShortLinkClick.objects.count() == 1

    def test_with_redis_down_the_view_writes_the_click_once(
        self, owner: Any, click_stream: Any, settings: Any, caplog: Any
    ) -> None:
        link_id = mint(owner)
        warm(owner, link_id)
        settings.REDIS_URL = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
        redis_conn.reset()

        with caplog.at_level(logging.WARNING):
            response = wsgi_call(owner.domain.host, f"/{link_id}")

        assert response["status"] == "302 Found"
        click = MessageShortLinkClick.objects.get()
        assert f"click_id={click.click_id}" in response["headers"]["Location"]
        assert "Redis unreachable" in caplog.text


def wsgi_call(host: str, path: str) -> dict[str, Any]:
    """One request through trackly.wsgi.application, as the web server makes it."""
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    # As Django's test client does: keep the test's connection (and its transaction).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = wsgi.application(environ(host, path), start_response)
        body = b"".join(response)
        getattr(response, "close", lambda: None)()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return seen | {"body": body}


@pytest.mark.django_db
def test_the_wsgi_application_answers_a_cached_link_without_django(
    owner: Any, click_stream: Any, monkeypatch: Any
) -> None:
    link_id = mint(owner)
    warm(owner, link_id)

    def django_not_called(*args: Any) -> Any:
        raise AssertionError("Django's handler was called")

    monkeypatch.setattr(wsgi, "django_application", django_not_called)
    response = wsgi_call(owner.domain.host, f"/{link_id}")

    assert response["status"] == "302 Found"
    assert response["headers"]["Cache-Control"] == "no-store"
    assert response["headers"]["Content-Length"] == "0"
    assert "click_id=" in response["headers"]["Location"]
    assert response["body"] == b""
    ClickConsumer(redis_conn.client()).drain()
    assert MessageShortLinkClick.objects.count() == 1


@pytest.mark.django_db
def test_head_through_the_front_door_has_no_body(owner: Any, click_stream: Any) -> None:
    link_id = mint(owner)
    warm(owner, link_id)
    response = redirect.front(environ(owner.domain.host, f"/{link_id}", "HEAD"))
    assert response is not None and response.status_code == 302
    assert response.content == b"" and response["Content-Length"] == "0"
