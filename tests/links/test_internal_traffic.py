"""Test and internal traffic never counts: a tester contact's click, a test list's click and
a click from one of the account's internal networks are stored as bots with reason
`internal` and never counted (even with bot detection off), on every path: the direct
write, the click pipeline (view and front door); the judge leaves them alone and the
fan-out rule does not count them."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.test import Client

from attribution import bot_checks
from core import redis_conn
from core.models import Contact, SendingList
from core.networks import ip_in_networks, networks_normalise, networks_parse
from links import resolve
from links.bots import INTERNAL, INTERNAL_REASON, click_verdict
from links.click_stream import ClickEvent
from links.click_writer import ClickConsumer
from links.clicks import click_verdict_set
from links.domains import tracking_domain_by_host
from links.internal import contact_is_test_set
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick
from tests.helpers import BROWSER, GOOGLEBOT, FrontClient, click_stored

OFFICE_V4 = "203.0.113.0/24"
OFFICE_V6 = "2001:db8:1::/48"
OUTSIDE = "198.51.100.20"
T0 = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["direct", "pipeline", "front"])
def door(request: Any) -> str:
    """Each case holds whether the click is written in the request (no pipeline), goes
    through the Redis Stream and the consumer from Django's view, or from the front door."""
    if request.param != "direct":
        if not django_settings.REDIS_URL:
            pytest.skip("the click pipeline needs Redis (the embedded default has none)")
        request.getfixturevalue("click_stream")
    return request.param


def tap(account: Any, link_id: str, door: str, *, ip: str = OUTSIDE, ua: str = BROWSER) -> str:
    """One GET of the short link from `ip` through `door`; the click is stored on return
    (the consumer drains the stream). Returns the click id."""
    client_class = FrontClient if door == "front" else Client
    if door == "front":
        # As after an earlier click: domain and link cached, so the front door answers.
        tracking_domain_by_host(account.domain.host)
        resolve.link_info(link_id)
    response = client_class(HTTP_HOST=account.domain.host).get(
        f"/{link_id}", HTTP_USER_AGENT=ua, REMOTE_ADDR=ip
    )
    assert response.status_code == 302, response
    if django_settings.CLICK_STREAM:
        ClickConsumer(redis_conn.client()).drain()
    return parse_qs(urlsplit(response["Location"]).query)["click_id"][0]


def mint(account: Any, contact: dict | str = "c1", **fields: Any) -> str:
    contact = {"external_id": contact} if isinstance(contact, str) else contact
    data = account.mint(
        contact=contact, body="{{l}}", links={"l": {"url": "https://a.example/"}}, **fields
    )
    return data["links"][0]["link_id"]


def stored(click_id: str) -> MessageShortLinkClick:
    return MessageShortLinkClick.objects.get(click_id=click_id)


def counted(link_id: str) -> bool:
    return MessageClick.objects.filter(short_link__link_id=link_id).exists()


def internal(click_id: str) -> bool:
    click = stored(click_id)
    return (click.is_bot, click.bot_reason) == (True, "internal")


def detection_off(account: Any, name: str = "No detection") -> str:
    response = account.post("/api/v1/lists/", {"name": name, "bot_detection_enabled": False})
    assert response.status_code == 201, response.content
    return name


def patch_account(account: Any, data: dict) -> Any:
    return account.client.patch("/api/v1/account", data, format="json")


@pytest.mark.django_db
class TestAtTheClick:
    @pytest.mark.parametrize("detection", ["on", "off"])
    def test_a_testers_click_is_internal_and_never_counts(
        self, owner: Any, door: str, detection: str
    ) -> None:
        fields = {"list": detection_off(owner)} if detection == "off" else {}
        link = mint(owner, {"external_id": "qa", "is_test": True}, **fields)
        click_id = tap(owner, link, door)
        assert internal(click_id)
        assert not counted(link)
        # A person's click on a normal contact's message still counts.
        person = mint(owner, "real", **fields)
        assert not stored(tap(owner, person, door)).is_bot
        assert counted(person)

    @pytest.mark.parametrize("detection", ["on", "off"])
    def test_a_test_lists_click_is_internal_and_never_counts(
        self, owner: Any, door: str, detection: str
    ) -> None:
        response = owner.post(
            "/api/v1/lists/",
            {"name": "Seeds", "is_test": True, "bot_detection_enabled": detection == "on"},
        )
        assert response.status_code == 201 and response.json()["is_test"] is True
        link = mint(owner, "c1", list="Seeds")
        assert internal(tap(owner, link, door))
        assert not counted(link)
        # The same contact on a list that is not a test list counts.
        other = mint(owner, "c1", list="Customers")
        tap(owner, other, door)
        assert counted(other)

    @pytest.mark.parametrize("detection", ["on", "off"])
    @pytest.mark.parametrize(
        ("office_ip", "outside_ip"),
        [("203.0.113.77", "203.0.114.1"), ("2001:db8:1:42::9", "2001:db8:2::9")],
        ids=["ipv4", "ipv6"],
    )
    def test_a_click_from_an_internal_network_is_internal_and_never_counts(
        self, owner: Any, door: str, detection: str, office_ip: str, outside_ip: str
    ) -> None:
        assert patch_account(owner, {"internal_ips": [OFFICE_V4, OFFICE_V6]}).status_code == 200
        fields = {"list": detection_off(owner)} if detection == "off" else {}
        link = mint(owner, "c1", **fields)
        assert internal(tap(owner, link, door, ip=office_ip))
        assert not counted(link)
        # The same contact from outside the networks, later: a person, counted.
        later = tap(owner, link, door, ip=outside_ip)
        assert not stored(later).is_bot
        assert MessageClick.objects.get(short_link__link_id=link).raw_click == stored(later)

    def test_an_internal_click_is_internal_whatever_its_agent(self, owner: Any, door: str) -> None:
        link = mint(owner, {"external_id": "qa", "is_test": True})
        assert internal(tap(owner, link, door, ua=GOOGLEBOT))


@pytest.mark.django_db
class TestAChangeReachesTheRedirect:
    """Each flag changed while the link is cached (in this process and in Redis) is heard
    by the next click, with no restart."""

    def test_a_contact_turned_tester(self, owner: Any, door: str) -> None:
        first, second = mint(owner, "c1"), mint(owner, "c1")
        tap(owner, first, door)  # caches the domain; warm the second link too
        assert resolve.link_info(second).contact_is_test is False
        contact = Contact.objects.get(external_id="c1")
        assert contact_is_test_set(contact_id=contact.pk, is_test=True) is True
        assert internal(tap(owner, second, door))
        assert counted(first) and not counted(second)
        # And back: the next click counts again.
        contact_is_test_set(contact_id=contact.pk, is_test=False)
        assert not stored(tap(owner, second, door)).is_bot
        assert counted(second)

    def test_a_contact_minted_as_a_tester(self, owner: Any, door: str) -> None:
        first = mint(owner, "c1")
        tap(owner, first, door)
        resolve.link_info(first)
        mint(owner, {"external_id": "c1", "is_test": True})
        assert Contact.objects.get(external_id="c1").is_test is True
        assert internal(tap(owner, first, door))

    def test_a_list_turned_test_list(self, owner: Any, door: str) -> None:
        first, second = mint(owner, "c1", list="Seeds"), mint(owner, "c2", list="Seeds")
        tap(owner, first, door)
        resolve.link_info(second)
        list_id = SendingList.objects.get(name="Seeds").pk
        response = owner.client.patch(f"/api/v1/lists/{list_id}/", {"is_test": True}, format="json")
        assert response.status_code == 200 and response.json()["is_test"] is True
        assert internal(tap(owner, second, door))
        assert counted(first) and not counted(second)

    def test_a_network_added_to_the_account(self, owner: Any, door: str) -> None:
        link = mint(owner, "c1")
        resolve.link_info(link)
        assert patch_account(owner, {"internal_ips": ["203.0.113.8"]}).status_code == 200
        assert internal(tap(owner, link, door, ip="203.0.113.8"))
        assert not counted(link)


@pytest.mark.django_db
class TestTheJudge:
    def test_an_internal_click_is_never_judged(self, owner: Any) -> None:
        sent = T0.isoformat()
        link_id = mint(owner, {"external_id": "qa", "is_test": True}, sent_at=sent)
        link = MessageShortLink.objects.get(link_id=link_id)
        # At delivery: the judge would call a person's click there a carrier scanner.
        click = click_stored(link, T0 + dt.timedelta(seconds=1))
        assert (click.is_bot, click.bot_reason) == (True, INTERNAL_REASON)
        bot_checks.clicks_judge_pending()
        click.refresh_from_db()
        assert click.bot_reason == INTERNAL_REASON and not counted(link_id)
        # Nor does any other verdict change reach it.
        click_verdict_set(click, is_bot=False, reason="")
        click.refresh_from_db()
        assert (click.is_bot, click.bot_reason) == (True, INTERNAL_REASON)
        assert not counted(link_id)

    def test_testers_on_one_office_ip_do_not_make_a_real_contact_a_fan_out_bot(
        self, owner: Any
    ) -> None:
        office = "203.0.113.50"  # not an internal network: the testers are the contacts
        at = T0 + dt.timedelta(minutes=10)
        testers = owner.account.bot_ip_fanout_contacts + 2
        for n in range(testers):
            link_id = mint(
                owner, {"external_id": f"qa{n}", "is_test": True}, sent_at=T0.isoformat()
            )
            link = MessageShortLink.objects.get(link_id=link_id)
            click_stored(link, at + dt.timedelta(seconds=n), ip=office)
        real_id = mint(owner, "real", sent_at=T0.isoformat())
        real = click_stored(
            MessageShortLink.objects.get(link_id=real_id), at + dt.timedelta(seconds=30), ip=office
        )
        bot_checks.clicks_judge_pending()
        real.refresh_from_db()
        assert (real.is_bot, real.bot_reason) == (False, "")
        assert counted(real_id)
        reasons = set(MessageShortLinkClick.objects.values_list("bot_reason", flat=True))
        assert reasons == {INTERNAL_REASON, ""}

    def test_real_contacts_on_one_ip_still_fan_out(self, owner: Any) -> None:
        """The control: the same clicks by contacts that are not testers are a scanner."""
        at = T0 + dt.timedelta(minutes=10)
        for n in range(owner.account.bot_ip_fanout_contacts):
            link_id = mint(owner, f"c{n}", sent_at=T0.isoformat())
            link = MessageShortLink.objects.get(link_id=link_id)
            click_stored(link, at + dt.timedelta(seconds=n), ip="203.0.113.50")
        bot_checks.clicks_judge_pending()
        reasons = set(MessageShortLinkClick.objects.values_list("bot_reason", flat=True))
        assert reasons == {"behaviour:ip-fanout"}


@pytest.mark.django_db
@pytest.mark.skipif(not django_settings.REDIS_URL, reason="the click pipeline needs Redis")
def test_the_stream_carries_the_verdict_and_an_old_entry_is_not_internal(
    owner: Any, click_stream: Any, settings: Any
) -> None:
    link = mint(owner, "c1")
    base = {
        "link_id": link, "account_id": owner.account.pk, "ip": OUTSIDE, "user_agent": BROWSER,
        "referer": "", "accept_language": "", "method": "GET",
    }  # fmt: skip
    inside = ClickEvent(click_id="cINTERNAL0001", clicked_at=T0, internal=True, **base)
    fields = ClickEvent(click_id="cOLDENTRY0001", clicked_at=T0, **base).fields()
    del fields["n"]  # appended by a redirect from before the field existed
    assert ClickEvent.from_fields({k.encode(): str(v).encode() for k, v in fields.items()}) == (
        ClickEvent(click_id="cOLDENTRY0001", clicked_at=T0, **base)
    )
    click_stream.xadd(settings.CLICK_STREAM_KEY, inside.fields())
    click_stream.xadd(settings.CLICK_STREAM_KEY, fields)
    ClickConsumer(click_stream).drain()
    assert internal("cINTERNAL0001")
    assert not stored("cOLDENTRY0001").is_bot
    assert MessageClick.objects.get().raw_click == stored("cOLDENTRY0001")


@pytest.mark.django_db
class TestMinting:
    def version(self) -> int:
        return cache.get(resolve.CONFIG_VERSION_KEY) or 0

    def test_is_test_moves_the_config_version_only_when_it_changes(self, owner: Any) -> None:
        start = self.version()
        mint(owner, "c1")  # absent: nothing changes
        mint(owner, {"external_id": "qa", "is_test": True})  # a new tester: never cached
        assert self.version() == start
        assert Contact.objects.get(external_id="qa").is_test is True
        mint(owner, {"external_id": "c1", "is_test": False})  # as it is
        mint(owner, "qa")  # absent: the flag stays
        assert self.version() == start
        assert Contact.objects.get(external_id="qa").is_test is True
        mint(owner, {"external_id": "c1", "is_test": True})
        assert self.version() > start
        assert Contact.objects.get(external_id="c1").is_test is True

    def test_bulk_minting_sets_each_contacts_flag(self, owner: Any) -> None:
        items = [
            {"contact": {"external_id": f"b{n}", "is_test": n % 2 == 0}, "body": "Hi"}
            for n in range(4)
        ]
        response = owner.post("/api/v1/messages/bulk", {"messages": items})
        assert response.status_code in (200, 201), response.content
        flags = dict(Contact.objects.values_list("external_id", "is_test"))
        assert flags == {"b0": True, "b1": False, "b2": True, "b3": False}

    @pytest.mark.parametrize("value", ["yes", 1, None, []])
    def test_a_bad_is_test_is_a_400_naming_it(self, owner: Any, value: Any) -> None:
        payload = {"contact": {"external_id": "c1", "is_test": value}, "body": "Hi"}
        response = owner.post("/api/v1/messages", payload)
        if value is None:
            assert response.status_code == 201  # null: as absent
            return
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"contact.is_test"}

    def test_an_unknown_contact_field_is_still_refused(self, owner: Any) -> None:
        payload = {"contact": {"external_id": "c1", "is_tester": True}, "body": "Hi"}
        response = owner.post("/api/v1/messages", payload)
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"contact.is_tester"}


class TestTheRule:
    def test_networks_are_normalised(self) -> None:
        assert networks_normalise(
            ["203.0.113.7/24", "2001:DB8::1", "10.0.0.0/8", "10.0.0.0/8"]
        ) == [
            "203.0.113.0/24",
            "2001:db8::1/128",
            "10.0.0.0/8",
        ]

    @pytest.mark.parametrize("bad", ["203.0.113.0/33", "not-a-network", "", 7, None])
    def test_a_bad_network_names_itself(self, bad: Any) -> None:
        with pytest.raises(ValueError, match="CIDR"):
            networks_normalise(["10.0.0.0/8", bad])

    def test_matching(self) -> None:
        networks = networks_parse([OFFICE_V4, OFFICE_V6, "garbage"])
        assert len(networks) == 2
        assert ip_in_networks("203.0.113.255", networks)
        assert ip_in_networks("::ffff:203.0.113.4", networks)  # IPv4-mapped
        assert ip_in_networks("2001:db8:1:ffff::1", networks)
        assert not ip_in_networks("203.0.112.255", networks)
        assert not ip_in_networks("2001:db8:2::1", networks)
        assert not ip_in_networks(None, networks)
        assert not ip_in_networks("203.0.113.1", ())

    def test_the_verdict(self) -> None:
        assert click_verdict(method="GET", user_agent=BROWSER, internal=True) == INTERNAL
        assert click_verdict(method="HEAD", user_agent=BROWSER, internal=False).reason == (
            "head-request"
        )
        assert not click_verdict(method="GET", user_agent=BROWSER, internal=False).is_bot
