"""Click events that correct themselves (links.click_events): message.clicked once the judge
has judged a counted click, message.click_revoked when it stops counting, click.recorded
for the accounts that subscribed; and the invariant (clicked minus revoked is whether a
judged counted click exists) under random verdict changes and two judges at once."""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connection

from attribution import bot_checks
from core.events import event_timestamp
from core.models import Event, SendingList, WebhookEndpoint
from core.sealing import sealed
from links import counting
from links.bots import HUMAN, Verdict
from links.click_events import click_events_reconcile
from links.clicks import click_verdict_set
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick
from tests.helpers import click_stored

T0 = dt.datetime(2026, 11, 2, 12, 0, tzinfo=dt.UTC)
BOT = Verdict(True, "ua:crawler:test")
CLICK_EVENTS = ("message.clicked", "message.click_revoked")


def message(account: Any, *, contact: str = "c1", **fields: Any) -> MessageShortLink:
    data = account.mint(
        contact={"external_id": contact, "phone": "+14155550100", "email": "a@example.com"},
        body="{{l}}",
        sent_at=T0.isoformat(),
        links={"l": fields.pop("link", {"url": "https://a.example/"})},
        **fields,
    )
    return MessageShortLink.objects.get(link_id=data["links"][0]["link_id"])


def events(*types: str, **data: Any) -> list[Event]:
    return list(Event.objects.filter(type__in=types or CLICK_EVENTS, **data).order_by("id"))


def told(link: MessageShortLink) -> list[tuple[str, str, str | None]]:
    """The click events of the link's message: (type, click id, reason)."""
    return [
        (e.type, e.data["click"]["id"], e.data.get("reason"))
        for e in events()
        if e.data["message"]["id"] == link.message_id
    ]


def judge_all() -> None:
    while bot_checks.clicks_judge_pending():
        pass


def balance_holds() -> None:
    """The invariant, for every pair that has a click: exact once the judge has seen each of
    its clicks (a click stored since may take the counted place before it is judged: what
    was told stands, 0 or 1, until the judge reaches it)."""
    balance: Counter[int] = Counter()
    for event in events():
        balance[event.data["message"]["id"]] += 1 if event.type == "message.clicked" else -1
    pairs = set(MessageShortLinkClick.objects.values_list("message_id", flat=True))
    judged = set(
        MessageClick.objects.filter(raw_click__judged_at__isnull=False).values_list(
            "message_id", flat=True
        )
    )
    waiting = set(
        MessageShortLinkClick.objects.filter(judged_at__isnull=True).values_list(
            "message_id", flat=True
        )
    )
    for message_id in pairs:
        if message_id in waiting:
            assert balance[message_id] in (0, 1), message_id
        else:
            assert balance[message_id] == (1 if message_id in judged else 0), message_id


@pytest.mark.django_db
class TestClickEvents:
    def test_a_human_click_judged_is_one_message_clicked_with_the_full_payload(
        self, owner: Any
    ) -> None:
        link = message(
            owner,
            campaign="Spring",
            creative="A",
            list="Main",
            external_id="m-1",
            link={"url": "https://a.example/x"},
        )
        click = click_stored(link, T0 + dt.timedelta(hours=1))
        assert events() == []  # not before the judge
        bot_checks.clicks_judge_pending()
        bot_checks.clicks_judge_pending()
        (event,) = events()
        m = link.message
        assert event.type == "message.clicked" and event.account_id == owner.account.pk
        assert event.data == {
            "contact": {
                "id": link.contact_id,
                "external_id": "c1",
                "phone": "+14155550100",
                "email": "a@example.com",
            },
            "message": {
                "id": m.pk,
                "external_id": "m-1",
                "channel": "sms",
                "sent_at": "2026-11-02T12:00:00.000Z",
            },
            "link": {"id": link.link_id, "name": "l", "url": "https://a.example/x"},
            "offer": None,
            "campaign": {"id": m.campaign_id, "name": "Spring"},
            "creative": {"id": m.creative_id, "name": "A"},
            "list": {"id": m.sending_list_id, "name": "Main"},
            "click": {"id": click.click_id, "clicked_at": event_timestamp(click.clicked_at)},
        }

    def test_a_delivery_scan_tells_nothing(self, owner: Any) -> None:
        link = message(owner)
        click_stored(link, T0 + dt.timedelta(seconds=1))
        judge_all()
        assert MessageShortLinkClick.objects.get().bot_reason == "behaviour:delivery-scan"
        assert events() == []

    def test_a_click_turned_by_a_later_ip_fanout_is_revoked(self, owner: Any) -> None:
        at = T0 + dt.timedelta(minutes=5)
        first = message(owner, contact="c0")
        tap = click_stored(first, at, ip="203.0.113.9")
        judge_all()
        assert told(first) == [("message.clicked", tap.click_id, None)]
        for i in range(1, 5):
            click_stored(
                message(owner, contact=f"c{i}"), at + dt.timedelta(seconds=i), ip="203.0.113.9"
            )
        judge_all()
        assert told(first) == [
            ("message.clicked", tap.click_id, None),
            ("message.click_revoked", tap.click_id, "behaviour:ip-fanout"),
        ]
        assert len(events("message.clicked")) == 1  # the others were never told
        balance_holds()

    def test_a_first_click_turning_bot_moves_to_the_later_human_click(self, owner: Any) -> None:
        link = message(owner)
        first = click_stored(link, T0 + dt.timedelta(hours=1))
        second = click_stored(link, T0 + dt.timedelta(hours=2))
        judge_all()
        assert told(link) == [("message.clicked", first.click_id, None)]
        click_verdict_set(first, is_bot=True, reason="behaviour:test")
        assert told(link) == [
            ("message.clicked", first.click_id, None),
            ("message.click_revoked", first.click_id, "moved"),
            ("message.clicked", second.click_id, None),
        ]
        click_verdict_set(second, is_bot=True, reason="behaviour:test")
        assert told(link)[-1] == ("message.click_revoked", second.click_id, "behaviour:test")
        balance_holds()

    def test_switching_a_lists_bot_detection_off_then_on(self, owner: Any) -> None:
        sending_list = SendingList.objects.create(account=owner.account, name="L")
        link = message(owner, list="L")
        bot = click_stored(link, T0 + dt.timedelta(minutes=1), verdict=BOT)
        person = click_stored(link, T0 + dt.timedelta(minutes=2))
        judge_all()
        assert told(link) == [("message.clicked", person.click_id, None)]
        counting.sending_list_bot_detection_set(list_id=sending_list.pk, enabled=False)
        assert told(link)[1:] == [
            ("message.click_revoked", person.click_id, "moved"),
            ("message.clicked", bot.click_id, None),
        ]
        counting.sending_list_bot_detection_set(list_id=sending_list.pk, enabled=True)
        assert told(link)[3:] == [
            ("message.click_revoked", bot.click_id, "moved"),
            ("message.clicked", person.click_id, None),
        ]
        balance_holds()

    def test_a_reconcile_again_tells_nothing_new(self, owner: Any) -> None:
        link = message(owner)
        click_stored(link, T0 + dt.timedelta(hours=1))
        judge_all()
        assert click_events_reconcile([(link.contact_id, link.message_id)]) == 0
        assert len(events()) == 1

    def test_click_recorded_only_for_accounts_subscribed(self, owner: Any, outsider: Any) -> None:
        WebhookEndpoint.objects.create(
            account=owner.account,
            url="https://hooks.example/",
            events=["click.recorded"],
            secret_sealed=sealed("whsec_test"),
        )
        WebhookEndpoint.objects.create(  # subscribed, but disabled
            account=outsider.account,
            url="https://hooks.example/",
            events=["click.recorded"],
            secret_sealed=sealed("whsec_test"),
            is_enabled=False,
        )
        mine = message(owner)
        scan = click_stored(mine, T0 + dt.timedelta(seconds=1))
        person = click_stored(mine, T0 + dt.timedelta(hours=1))
        click_stored(message(outsider), T0 + dt.timedelta(hours=1))
        judge_all()
        recorded = events("click.recorded")
        assert [(e.account_id, e.data["click"]["id"]) for e in recorded] == [
            (owner.account.pk, scan.click_id),
            (owner.account.pk, person.click_id),
        ]
        assert [(e.data["is_bot"], e.data["reason"], e.data["method"]) for e in recorded] == [
            (True, "behaviour:delivery-scan", "GET"),
            (False, "", "GET"),
        ]
        assert recorded[1].data["link"]["id"] == mine.link_id


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [16, 17, 18])
def test_the_invariant_holds_over_random_verdict_flips(make_account: Any, seed: int) -> None:
    rng = random.Random(seed)
    account = make_account()
    sending_list = SendingList.objects.create(account=account.account, name="L")
    links = [message(account, contact=f"c{i}", list="L") for i in range(6)]
    clicks: list[MessageShortLinkClick] = []
    for step in range(60):
        action = rng.random()
        if action < 0.35 or not clicks:
            link = rng.choice(links)
            at = T0 + dt.timedelta(minutes=5, seconds=rng.randrange(600))
            verdict = BOT if rng.random() < 0.3 else HUMAN
            clicks.append(click_stored(link, at, verdict=verdict))
        elif action < 0.8:
            target = rng.choice(clicks)
            target.refresh_from_db()
            is_bot = rng.random() < 0.5
            click_verdict_set(target, is_bot=is_bot, reason="behaviour:test" if is_bot else "")
        elif action < 0.9:
            enabled = not SendingList.objects.get(pk=sending_list.pk).bot_detection_enabled
            counting.sending_list_bot_detection_set(list_id=sending_list.pk, enabled=enabled)
        else:
            bot_checks.clicks_judge_pending(limit=rng.randint(1, 4))
        if step % 10 == 9:
            balance_holds()
    judge_all()
    balance_holds()
    # Each pair's story alternates, and its last message.clicked names its counted click.
    for link in links:
        story = [e for e in events() if e.data["message"]["id"] == link.message_id]
        types = [e.type for e in story]
        assert types == [CLICK_EVENTS[i % 2] for i in range(len(types))]
        counted = MessageClick.objects.filter(message_id=link.message_id).first()
        if counted is not None:
            assert story[-1].data["click"]["id"] == counted.raw_click.click_id


def _in_threads(work: Any, n: int = 2) -> None:
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            work()
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.django_db(transaction=True)
class TestTwoJudges:
    @pytest.fixture(autouse=True)
    def _postgresql(self) -> None:
        if connection.vendor != "postgresql":
            pytest.skip("SKIP LOCKED and row locks: PostgreSQL (SQLite has one writer)")

    def test_two_judge_workers_announce_each_pair_once(self, owner: Any) -> None:
        links = [message(owner, contact=f"c{i}") for i in range(40)]
        for i, link in enumerate(links):
            click_stored(link, T0 + dt.timedelta(hours=1, seconds=i))
            click_stored(link, T0 + dt.timedelta(hours=1, seconds=i, milliseconds=5))

        def judge() -> None:
            while bot_checks.clicks_judge_pending(limit=7):
                pass

        _in_threads(judge)
        clicked = Counter(e.data["message"]["id"] for e in events("message.clicked"))
        assert clicked == Counter({link.message_id: 1 for link in links})
        assert not events("message.click_revoked")

    def test_two_reconciles_of_the_same_pairs_tell_each_once(self, owner: Any) -> None:
        links = [message(owner, contact=f"c{i}") for i in range(30)]
        for link in links:
            click_stored(link, T0 + dt.timedelta(hours=1))
        MessageShortLinkClick.objects.update(judged_at=T0 + dt.timedelta(hours=2))
        pairs = [(link.contact_id, link.message_id) for link in links]
        _in_threads(lambda: click_events_reconcile(pairs))
        assert len(events("message.clicked")) == len(links)
        balance_holds()
