from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attribution import bot_checks, fraud
from attribution.models import FraudFlag
from attribution.postback_input import ConversionInput
from attribution.services import conversion_record
from core.models import Account, Offer, SendingList
from links import counting
from links.bots import HUMAN, Verdict
from links.clicks import click_verdict_set
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick
from tests.helpers import click_stored

T0 = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)
BOT = Verdict(True, "ua:crawler:test")
SECONDS_2, MINUTES_5 = dt.timedelta(seconds=2), dt.timedelta(minutes=5)
_ips = itertools.count(1)


def message(
    account: Any, *, contact: str = "c1", sent_at: dt.datetime = T0, **fields: Any
) -> MessageShortLink:
    data = account.mint(
        contact={"external_id": contact},
        body="{{l}}",
        sent_at=sent_at.isoformat(),
        links={"l": fields.pop("link", {"url": "https://a.example/"})},
        **fields,
    )
    return MessageShortLink.objects.get(link_id=data["links"][0]["link_id"])


def click(
    link: MessageShortLink, at: dt.datetime, *, verdict: Verdict = HUMAN, ip: str | None = None
) -> MessageShortLinkClick:
    return click_stored(link, at, verdict=verdict, ip=ip)


def counted(link: MessageShortLink) -> int | None:
    row = MessageClick.objects.filter(message_id=link.message_id).first()
    return row.raw_click_id if row else None


@pytest.mark.django_db
class TestSignals:
    def test_a_click_at_delivery_is_a_carrier_scanner(self, owner: Any) -> None:
        link = message(owner)
        scan = click(link, T0 + dt.timedelta(seconds=1))
        person = click(link, T0 + dt.timedelta(minutes=3))
        assert counted(link) == scan.pk
        assert bot_checks.clicks_judge_pending() == 2
        scan.refresh_from_db()
        assert (scan.is_bot, scan.bot_reason) == (True, "behaviour:delivery-scan")
        assert counted(link) == person.pk

    def test_the_scanner_window_is_per_list(self, owner: Any) -> None:
        SendingList.objects.create(account=owner.account, name="Slow", scanner_window_seconds=30)
        link = message(owner, list="Slow")
        tap = click(link, T0 + dt.timedelta(seconds=20))
        bot_checks.clicks_judge_pending()
        tap.refresh_from_db()
        assert tap.bot_reason == "behaviour:delivery-scan"

    def test_a_click_after_the_window_stays_a_person(self, owner: Any) -> None:
        link = message(owner)
        tap = click(link, T0 + dt.timedelta(seconds=10))
        bot_checks.clicks_judge_pending()
        tap.refresh_from_db()
        assert tap.is_bot is False and counted(link) == tap.pk

    def test_one_ip_fanning_out_over_contacts_is_a_scanner_and_a_flag(self, owner: Any) -> None:
        at = T0 + dt.timedelta(minutes=5)
        links = [message(owner, contact=f"c{i}") for i in range(5)]
        for i, link in enumerate(links):
            click(link, at + dt.timedelta(seconds=i * 5), ip="203.0.113.7")
        bot_checks.clicks_judge_pending()
        reasons = set(MessageShortLinkClick.objects.values_list("bot_reason", flat=True))
        assert reasons == {"behaviour:ip-fanout"}
        assert not MessageClick.objects.exists()
        flag = FraudFlag.objects.get(kind="click_flood")
        assert flag.ip == "203.0.113.7" and flag.evidence["contacts"] == 5

    def test_four_contacts_from_one_ip_are_not_enough(self, owner: Any) -> None:
        at = T0 + dt.timedelta(minutes=5)
        for i in range(4):
            click(message(owner, contact=f"c{i}"), at + dt.timedelta(seconds=i), ip="203.0.113.8")
        bot_checks.clicks_judge_pending()
        assert not MessageShortLinkClick.objects.filter(is_bot=True).exists()
        assert not FraudFlag.objects.exists()

    def test_more_than_m_clicks_on_one_link_in_a_minute_are_bots(
        self, owner: Any, settings: Any
    ) -> None:
        settings.BOT_LINK_CLICKS_PER_MINUTE = 3
        link = message(owner)
        taps = [click(link, T0 + dt.timedelta(minutes=5, seconds=i)) for i in range(5)]
        bot_checks.clicks_judge_pending()
        flagged = list(
            MessageShortLinkClick.objects.filter(is_bot=True)
            .order_by("clicked_at")
            .values_list("pk", flat=True)
        )
        assert flagged == [taps[3].pk, taps[4].pk]
        assert counted(link) == taps[0].pk


@pytest.mark.django_db
class TestVerdictChanges:
    def offer(self, account: Any) -> Offer:
        offer = Offer(account=account.account, name="O", destination_url="https://adv.example/")
        offer.rotate_postback_secret()
        offer.save()
        return offer

    def test_a_conversion_moves_to_the_next_human_click_when_its_click_turns_bot(
        self, owner: Any
    ) -> None:
        offer = self.offer(owner)
        link_a = message(owner, link={"offer": offer.pk})
        link_b = message(owner, link={"offer": offer.pk})
        first = click(link_a, T0 + dt.timedelta(hours=1))
        second = click(link_b, T0 + dt.timedelta(hours=2))
        conversion, _ = conversion_record(
            account=owner.account, log=None, contact_id=link_a.contact_id, offer=offer,
            data=ConversionInput("purchase", Decimal(10), "USD", "t1", T0 + dt.timedelta(hours=3)),
        )  # fmt: skip
        assert conversion.message_id == link_a.message_id
        click_verdict_set(first, is_bot=True, reason="behaviour:test")
        conversion.refresh_from_db()
        assert conversion.message_id == link_b.message_id
        assert conversion.message_click.raw_click_id == second.pk
        click_verdict_set(second, is_bot=True, reason="behaviour:test")
        conversion.refresh_from_db()
        assert conversion.message_click is None and conversion.attribution_type == "none"

    def test_switching_a_list_off_changes_message_clicks_and_nothing_else(self, owner: Any) -> None:
        sending_list = SendingList.objects.create(account=owner.account, name="L")
        link = message(owner, list="L")
        bot = click(link, T0 + dt.timedelta(minutes=1), verdict=BOT)
        person = click(link, T0 + dt.timedelta(minutes=2))
        verdicts = list(
            MessageShortLinkClick.objects.order_by("pk").values_list("is_bot", "bot_reason")
        )
        assert counted(link) == person.pk
        counting.sending_list_bot_detection_set(list_id=sending_list.pk, enabled=False)
        assert counted(link) == bot.pk
        assert (
            list(MessageShortLinkClick.objects.order_by("pk").values_list("is_bot", "bot_reason"))
            == verdicts
        )
        counting.sending_list_bot_detection_set(list_id=sending_list.pk, enabled=True)
        assert counted(link) == person.pk

    def test_the_list_api_switch_recomputes(
        self, owner: Any, django_capture_on_commit_callbacks: Any
    ) -> None:
        sending_list = SendingList.objects.create(account=owner.account, name="L")
        link = message(owner, list="L")
        bot = click(link, T0 + dt.timedelta(minutes=1), verdict=BOT)
        # On commit, core's hook (core.hooks.bot_detection_switched) reaches attribution's
        # receiver, which queues the recompute (Celery runs eagerly here).
        with django_capture_on_commit_callbacks(execute=True):
            response = owner.client.patch(
                f"/api/v1/lists/{sending_list.pk}", {"bot_detection_enabled": False}, format="json"
            )
        assert response.status_code == 200 and response.json()["bot_detection_enabled"] is False
        assert counted(link) == bot.pk


@pytest.mark.django_db
class TestFraudFlags:
    def test_a_conversion_seconds_after_its_click_is_flagged(self, owner: Any) -> None:
        link = message(owner)
        tap = click(link, T0 + dt.timedelta(hours=1))
        fast, _ = conversion_record(
            account=owner.account, log=None, contact_id=link.contact_id, offer=None,
            message_id=link.message_id,
            data=ConversionInput("b", Decimal(1), "USD", "fast", tap.clicked_at + SECONDS_2),
        )  # fmt: skip
        conversion_record(
            account=owner.account, log=None, contact_id=link.contact_id, offer=None,
            message_id=link.message_id,
            data=ConversionInput("b", Decimal(1), "USD", "slow", tap.clicked_at + MINUTES_5),
        )  # fmt: skip
        flag = FraudFlag.objects.get()
        assert (flag.kind, flag.conversion_id) == ("click_injection", fast.pk)
        assert flag.evidence["seconds_after_click"] == 2.0

    def test_a_campaign_clicked_by_more_than_40_percent_of_sends_is_flagged(
        self, owner: Any, settings: Any
    ) -> None:
        settings.FRAUD_CLICK_RATE_MIN_SENDS = 5
        links = [message(owner, contact=f"c{i}", campaign="Hot") for i in range(5)]
        quiet = [message(owner, contact=f"q{i}", campaign="Quiet") for i in range(5)]
        for link in links[:3]:
            click(link, T0 + dt.timedelta(hours=1))
        click(quiet[0], T0 + dt.timedelta(hours=1))
        assert fraud.campaigns_click_rate_check() == 1
        flag = FraudFlag.objects.get()
        assert flag.campaign.name == "Hot" and flag.evidence["raw_click_rate"] == 0.6


# The invariant, over random click sequences and verdict changes, on PostgreSQL.
click_plan = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 600), st.booleans()), min_size=1, max_size=12
)
flips = st.lists(st.tuples(st.integers(0, 11), st.booleans()), max_size=10)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=click_plan, changes=flips, detection_on=st.booleans())
def test_message_click_is_always_the_first_click_not_a_bot(
    make_account: Any, plan: list, changes: list, detection_on: bool
) -> None:
    account = make_account()
    sending_list = SendingList.objects.create(
        account=account.account, name="L", bot_detection_enabled=detection_on
    )
    links = [message(account, contact=f"c{i % 2}", list="L") for i in range(4)]
    clicks = [
        click(
            links[which],
            T0 + dt.timedelta(hours=1, seconds=second),
            verdict=BOT if is_bot else HUMAN,
        )
        for which, second, is_bot in plan
    ]
    for index, is_bot in changes:
        target = clicks[index % len(clicks)]
        target.refresh_from_db()
        click_verdict_set(target, is_bot=is_bot, reason="behaviour:test" if is_bot else "")

    for link in links:
        candidates = MessageShortLinkClick.objects.filter(message_id=link.message_id)
        if sending_list.bot_detection_enabled:
            candidates = candidates.filter(is_bot=False)
        expected = candidates.order_by("clicked_at", "id").first()
        assert counted(link) == (expected.pk if expected else None)
    assert Account.objects.filter(pk=account.account.pk).exists()
