"""Data-centre traffic (attribution/datacenter.py, run by the judge in
attribution/bot_checks.py): a browser agent from a hosting or cloud network is a bot;
carriers, ISPs and iCloud Private Relay's Safari are people; the per-list switch."""

from __future__ import annotations

import datetime as dt
import importlib
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db.migrations import AddField, AlterField
from django.test import Client

from attribution import bot_checks
from attribution.datacenter import NETWORKS_FILE, datacenter_reason, hosting_patterns, is_hosting
from core.models import SendingList
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick
from links.places import place_of
from tests.helpers import click_stored

T0 = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(minutes=5)  # past the delivery-scan window
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15"
)
AWS, T_MOBILE, VERIZON, COMCAST = "3.5.140.2", "172.58.0.1", "174.192.0.1", "73.0.0.1"
CLOUDFLARE_RELAY, AKAMAI_RELAY, LINODE = "104.28.0.1", "172.224.0.1", "45.33.0.1"
ZSCALER = "165.225.0.1"
MIGRATION = importlib.import_module("core.migrations.0005_routing").Migration


def message(account: Any, *, contact: str = "c1", **fields: Any) -> MessageShortLink:
    data = account.mint(
        contact={"external_id": contact},
        body="{{l}}",
        sent_at=T0.isoformat(),
        links={"l": {"url": "https://a.example/"}},
        **fields,
    )
    return MessageShortLink.objects.get(link_id=data["links"][0]["link_id"])


def judged(
    link: MessageShortLink, *, ip: str, user_agent: str, network: str | None = None
) -> MessageShortLinkClick:
    """A human click judged by the real judge; `network` stored on it when given (as the
    consumer stores it), else what the click was stored with (the judge falls back to
    the IP's network when that is empty)."""
    tap = click_stored(link, LATER, ip=ip, user_agent=user_agent)
    if network is not None:
        MessageShortLinkClick.objects.filter(pk=tap.pk).update(network=network)
    bot_checks.clicks_judge_pending()
    tap.refresh_from_db()
    return tap


@pytest.mark.django_db
class TestTheJudge:
    def test_desktop_chrome_from_a_cloud_network_is_a_datacenter_bot(self, owner: Any) -> None:
        assert place_of(AWS).network == "AMAZON-02"
        link = message(owner)
        tap = judged(link, ip=AWS, user_agent=CHROME)
        assert (tap.is_bot, tap.bot_reason) == (True, "behaviour:datacenter:amazon-02")
        assert not MessageClick.objects.filter(message_id=link.message_id).exists()

    def test_the_network_the_consumer_stored_is_the_one_judged(self, owner: Any) -> None:
        # A private address has no network of its own: only the stored one can flag it.
        tap = judged(message(owner), ip="10.1.2.3", user_agent=CHROME, network="OVH SAS")
        assert tap.bot_reason == "behaviour:datacenter:ovh-sas"

    def test_a_stored_carrier_network_wins_over_the_ip(self, owner: Any) -> None:
        tap = judged(message(owner), ip=AWS, user_agent=CHROME, network="T-MOBILE-AS21928")
        assert tap.is_bot is False

    @pytest.mark.parametrize("ip", [T_MOBILE, VERIZON, COMCAST, ZSCALER])
    def test_an_iphone_on_a_carrier_isp_or_corporate_proxy_is_a_person(
        self, owner: Any, ip: str
    ) -> None:
        link = message(owner)
        tap = judged(link, ip=ip, user_agent=IPHONE)
        assert (tap.is_bot, tap.bot_reason) == (False, "")
        assert MessageClick.objects.get(message_id=link.message_id).raw_click_id == tap.pk

    def test_chrome_on_a_carrier_is_a_person(self, owner: Any) -> None:
        assert judged(message(owner), ip=T_MOBILE, user_agent=CHROME).is_bot is False

    @pytest.mark.parametrize("ip", [CLOUDFLARE_RELAY, AKAMAI_RELAY])
    def test_an_iphone_through_a_private_relay_address_is_a_person(
        self, owner: Any, ip: str
    ) -> None:
        assert place_of(ip).network in ("CLOUDFLARENET", "AKAMAI-AS")
        tap = judged(message(owner), ip=ip, user_agent=IPHONE)
        assert (tap.is_bot, tap.bot_reason) == (False, "")

    def test_safari_from_akamais_cloud_is_spared_chrome_is_not(self, owner: Any) -> None:
        assert place_of(LINODE).network == "Akamai Connected Cloud"
        safari = judged(message(owner, contact="a"), ip=LINODE, user_agent=IPHONE)
        chrome = judged(message(owner, contact="b"), ip=LINODE, user_agent=CHROME)
        assert safari.is_bot is False
        assert chrome.bot_reason == "behaviour:datacenter:akamai-connected-cloud"

    def test_a_list_with_the_check_off_is_not_flagged(self, owner: Any) -> None:
        SendingList.objects.create(account=owner.account, name="Old", datacenter_check=False)
        SendingList.objects.create(account=owner.account, name="New")
        old = judged(message(owner, contact="a", list="Old"), ip=AWS, user_agent=CHROME)
        new = judged(message(owner, contact="b", list="New"), ip=AWS, user_agent=CHROME)
        assert old.is_bot is False
        assert new.bot_reason == "behaviour:datacenter:amazon-02"

    def test_an_earlier_reason_stays_and_bots_are_left_alone(self, owner: Any) -> None:
        link = message(owner)
        scan = click_stored(link, T0 + dt.timedelta(seconds=1), ip=AWS, user_agent=CHROME)
        bot_checks.clicks_judge_pending()
        scan.refresh_from_db()
        assert scan.bot_reason == "behaviour:delivery-scan"

    def test_switching_the_check_applies_to_clicks_judged_after(self, owner: Any) -> None:
        SendingList.objects.create(account=owner.account, name="L")
        before = judged(message(owner, contact="a", list="L"), ip=AWS, user_agent=CHROME)
        lists = SendingList.objects.get(account=owner.account, name="L")
        response = owner.client.patch(
            f"/api/v1/lists/{lists.pk}", {"datacenter_check": False}, format="json"
        )
        assert response.status_code == 200 and response.json()["datacenter_check"] is False
        after = judged(message(owner, contact="b", list="L"), ip=AWS, user_agent=CHROME)
        before.refresh_from_db()
        assert before.bot_reason == "behaviour:datacenter:amazon-02"  # not re-judged
        assert after.is_bot is False


@pytest.mark.django_db
class TestTheSwitch:
    def test_a_new_list_has_it_on_and_the_api_shows_it(self, owner: Any) -> None:
        response = owner.post("/api/v1/lists/", {"name": "Fresh"})
        assert response.status_code == 201 and response.json()["datacenter_check"] is True

    def test_a_bad_value_is_a_400_naming_the_field(self, owner: Any) -> None:
        response = owner.post("/api/v1/lists/", {"name": "X", "datacenter_check": "maybe"})
        assert response.status_code == 400 and "datacenter_check" in response.json()["errors"]

    def test_lists_existing_at_migration_get_it_off_new_ones_on(self) -> None:
        add, alter = [
            op
            for op in MIGRATION.operations
            if isinstance(op, AddField | AlterField) and op.name == "datacenter_check"
        ]
        # Added with a database default of false: the rows already there are off.
        assert isinstance(add, AddField) and add.field.db_default is False
        assert isinstance(alter, AlterField) and alter.field.db_default is True
        field = SendingList._meta.get_field("datacenter_check")
        assert field.default is True and field.db_default is True


class TestTheRule:
    def test_the_list_file_has_its_origin_and_date(self) -> None:
        head = NETWORKS_FILE.read_text()
        assert "Origin:" in head and "2026-12-02" in head and "2024-06-18" in head
        assert "AMAZON-02" in hosting_patterns()

    @pytest.mark.parametrize(
        "network",
        ["T-MOBILE-AS21928", "CELLCO-PART", "COMCAST-7922", "ZSCALER-SJC1", "NETSKOPE",
         "APPLE-AUSTIN", "AKAMAI-AS", "Akamai International B.V.", "FASTLY", "CLOUDFLARENET",
         "GOOGLE", ""],
    )  # fmt: skip
    def test_carriers_isps_proxies_and_relays_are_never_hosting(self, network: str) -> None:
        assert not is_hosting(network)
        assert datacenter_reason(network, CHROME) is None

    @pytest.mark.parametrize("ip", ["34.102.136.180", "20.42.0.1", "159.89.0.1", "51.38.0.1",
                                    "88.99.0.1", "45.32.0.1", "129.146.0.1", "47.74.0.1",
                                    "43.128.0.1", "5.189.128.1", "51.15.0.1", "85.17.0.1",
                                    "217.138.192.1"])  # fmt: skip
    def test_the_big_clouds_and_hosts_are_hosting(self, ip: str) -> None:
        assert is_hosting(place_of(ip).network), place_of(ip)

    def test_safari_on_a_mac_through_a_relay_company_is_spared(self) -> None:
        assert datacenter_reason("Akamai Connected Cloud", MAC_SAFARI) is None
        assert datacenter_reason("AMAZON-02", MAC_SAFARI) == "behaviour:datacenter:amazon-02"


@pytest.mark.django_db
def test_the_admin_lists_filter_by_the_switch(owner: Any, settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-1")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    SendingList.objects.create(account=owner.account, name="Kept-off", datacenter_check=False)
    SendingList.objects.create(account=owner.account, name="Turned-on")
    page = client.get("/admin/core/sendinglist/", {"datacenter_check__exact": "0"})
    assert page.status_code == 200
    assert "Kept-off" in page.content.decode() and "Turned-on" not in page.content.decode()
