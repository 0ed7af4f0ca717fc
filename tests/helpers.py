"""The small helpers the tests share: offers, taps on short links, stored clicks, the
tracking-domain client, and waiting on a condition. Fixtures (accounts, the click stream)
are in tests/conftest.py. A helper used by one file stays in that file; one that two files
need lives here, once."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.core.handlers.wsgi import WSGIRequest
from django.test import Client
from django.test.client import ClientHandler
from django.utils import timezone

from core.models import Offer
from links import ids
from links.bots import HUMAN, Verdict
from links.clicks import click_record
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick
from links.resolve import link_info_load
from trackly import wsgi

BROWSER = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
TEST_BOT = Verdict(True, "ua:crawler:test")

_ips = itertools.count(1)


def make_offer_and_secret(account: Any, **fields: Any) -> tuple[Offer, str]:
    """An offer of the account (an AccountFixture) and its postback secret."""
    fields = {"name": "Offer", "destination_url": "https://adv.example.com/land"} | fields
    offer = Offer(account=account.account, **fields)
    secret = offer.rotate_postback_secret()
    offer.save()
    return offer, secret


def make_offer(account: Any, **fields: Any) -> Offer:
    return make_offer_and_secret(account, **fields)[0]


class FrontHandler(ClientHandler):
    """As trackly.wsgi: the redirect's front door first, then Django."""

    def __call__(self, environ: dict[str, Any]) -> Any:
        response = wsgi.front_door(environ)
        if response is None:
            return super().__call__(environ)
        response.wsgi_request = WSGIRequest(environ)
        return response


class FrontClient(Client):
    """A test client knocking on the redirect's front door (trackly.wsgi) first."""

    def __init__(self, **defaults: Any) -> None:
        super().__init__(**defaults)
        self.handler = FrontHandler()


def tracking(account: Any) -> Client:
    """A client on the account's tracking domain (short links, postbacks)."""
    return Client(HTTP_HOST=account.domain.host)


def link_id_of(link: str | dict) -> str:
    """A link id as given, or the first link of a minted message."""
    return link if isinstance(link, str) else link["links"][0]["link_id"]


def tap(
    account: Any,
    link: str | dict,
    ua: str = BROWSER,
    *,
    at: dt.datetime | None = None,
    ip: str = "127.0.0.1",
) -> str:
    """One GET of a short link (a link id or a minted message's first link) as `ua` from
    `ip`; returns the click id. With the click pipeline on, the click is still in the stream:
    the id is the one the redirect handed to the destination. Otherwise it is the stored
    click's, moved (raw and counted) to `at` when given."""
    link_id = link_id_of(link)
    response = tracking(account).get(f"/{link_id}", HTTP_USER_AGENT=ua, REMOTE_ADDR=ip)
    if settings.CLICK_STREAM:
        assert response.status_code == 302 and at is None, response
        return parse_qs(urlsplit(response["Location"]).query)["click_id"][0]
    click = MessageShortLinkClick.objects.filter(short_link__link_id=link_id).latest("id")
    if at is not None:
        click_move(click, at)
    return click.click_id


def click_move(click: MessageShortLinkClick, at: dt.datetime) -> None:
    """The stored click (and the counted click it made, if any) as if made at `at`, its id
    re-minted to carry `at` as a click made then would (links.ids; `click` updated too)."""
    click.clicked_at = at
    click.click_id = ids.click_time_prefix(at) + click.click_id[ids.CLICK_TIME_LENGTH :]
    MessageShortLinkClick.objects.filter(pk=click.pk).update(clicked_at=at, click_id=click.click_id)
    MessageClick.objects.filter(raw_click=click).update(clicked_at=at, click_id=click.click_id)


def clicked(account: Any, offer: Offer | None = None) -> tuple[str, str]:
    """A new message's link (to the offer, or a plain URL) tapped by a person an hour
    ago: (link_id, click_id)."""
    links = {"l": {"offer": offer.pk} if offer else {"url": "https://a.example/"}}
    link_id = account.mint(body="{{l}}", links=links)["links"][0]["link_id"]
    click_id = tap(account, link_id, at=timezone.now() - dt.timedelta(hours=1))
    return link_id, click_id


def wait_for(
    predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1
) -> None:
    """Poll until `predicate()` is true; a TimeoutError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise TimeoutError(f"waited {timeout}s for {what}")


def click_stored(
    link: MessageShortLink,
    at: dt.datetime,
    *,
    verdict: Verdict = HUMAN,
    ip: str | None = None,
    user_agent: str = "test",
    accept_language: str = "",
) -> MessageShortLinkClick:
    """A raw click on `link` at `at`, stored as the redirect stores it without the click
    pipeline (links.clicks.click_record, with its counted click), from its own IP unless
    one is given."""
    return click_record(
        link=link_info_load(link.link_id),  # type: ignore[arg-type]
        click_id=ids.new_click_id(at),
        clicked_at=at,
        ip=ip or f"198.51.100.{next(_ips) % 250 + 1}",
        user_agent=user_agent,
        referer="",
        accept_language=accept_language,
        method="GET",
        verdict=verdict,
    )
