"""Issue 16 end to end, through the real paths only: an endpoint, an audience and an
automation made through the API; messages minted through the API; clicks by real taps (the
direct write, and the click pipeline with its consumer); the background work done by the
tasks and services the beat runs, in turn, with the clock injected where a delay is waited
out; every delivery received by a real HTTP server and its signature verified.

A person's click is announced, enters the audience and schedules the automation; an IP
fan-out then turns it into a bot: revoked, the audience left, the automation skipped at due
time. Another person's click fires the automation to the endpoint. The pull API lists what
the receiver got, and clicked minus revoked matches the counted clicks. Test contacts and
internal networks announce nothing, enter nothing, fire nothing, and report as internal.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from attribution.tasks import clicks_judge_task
from audiences.tasks import audiences_consume_task
from automations.models import AutomationRun
from automations.runner import runs_due
from automations.tasks import automations_consume_task
from core.events import SUBSCRIBABLE
from core.models import Campaign, Contact
from links.click_writer import ClickConsumer
from links.models import MessageClick
from tests.conftest import AccountFixture
from tests.helpers import tap
from tests.webhooks.receiver import Receiver
from webhooks.delivery import deliveries_send_due
from webhooks.tasks import events_sequence_task, webhooks_fan_out_task

pytestmark = pytest.mark.django_db

CAMPAIGN = "Spring"
SCANNER_IP = "198.51.100.77"
OFFICE = "203.0.113.0/24"
CLICKED, REVOKED = "message.clicked", "message.click_revoked"
ENTERED, LEFT, FIRED = "contact.audience_entered", "contact.audience_left", "automation.fired"


@pytest.fixture(autouse=True)
def _private_allowed(settings: Any) -> None:
    settings.WEBHOOK_ALLOW_PRIVATE = True  # the receiver is on loopback


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


@pytest.fixture(params=["direct", "pipeline"])
def door(request: Any) -> Any:
    """How clicks are stored: written in the request, or through the stream and its
    consumer (then the Redis client of the test's own stream)."""
    if request.param == "direct":
        return None
    if not django_settings.REDIS_URL:
        pytest.skip("the click pipeline needs Redis")
    return request.getfixturevalue("click_stream")


class Loop:
    """The account's endpoint, audience and automation, made through the API, and the
    background work done as the beat does it."""

    def __init__(self, owner: AccountFixture, receiver: Receiver, stream: Any) -> None:
        self.owner, self.receiver, self.stream = owner, receiver, stream
        made = owner.post(
            "/api/v1/webhooks",
            {"url": receiver.url(), "events": list(SUBSCRIBABLE), "description": "CRM"},
        )
        assert made.status_code == 201, made.content
        self.endpoint_id, self.secret = made.json()["id"], made.json()["secret"]
        # The campaign exists once a message names it; the audience names it by id.
        self.mint(contact="seed")
        self.campaign = Campaign.objects.get(account=owner.account, name=CAMPAIGN)
        made = owner.post(
            "/api/v1/audiences",
            {
                "name": "Clicked Spring",
                "rule": {"all": [{"clicked": {"campaign": self.campaign.pk}}]},
            },
        )
        assert made.status_code == 201, made.content
        self.audience_id = made.json()["id"]
        made = owner.post(
            "/api/v1/automations",
            {
                "name": "Follow up",
                "trigger": {"event": CLICKED},
                "delay_seconds": 60,
                "action": {"type": "webhook", "webhook": self.endpoint_id, "journey": "follow-up"},
            },
        )
        assert made.status_code == 201, made.content
        self.automation_id = made.json()["id"]

    def mint(self, contact: str, *, campaign: str | None = CAMPAIGN) -> dict[str, Any]:
        """A message to the contact, sent an hour ago (so no click is a delivery scan)."""
        fields: dict[str, Any] = {
            "contact": {"external_id": contact, "phone": "+14155550100"},
            "body": "Hi {{link1}}",
            "links": {"link1": {"url": "https://shop.example/p"}},
            "sent_at": (timezone.now() - dt.timedelta(hours=1)).isoformat(),
        }
        if campaign:
            fields["campaign"] = campaign
        return self.owner.mint(**fields)

    def settle(self) -> None:
        """Store the stream's clicks, judge them, number the events, let the audiences and
        automations consumers read them, fan out and deliver, until nothing is left."""
        for _ in range(10):
            work = 0
            if self.stream is not None:
                work += sum(r.entries for r in ClickConsumer(self.stream).drain())
            work += clicks_judge_task()
            work += events_sequence_task()
            work += audiences_consume_task()
            work += automations_consume_task()
            work += webhooks_fan_out_task()
            work += deliveries_send_due()
            if not work:
                return
        raise AssertionError("the background work did not settle")

    def bodies(self) -> list[dict[str, Any]]:
        """What the receiver got, each request's signature verified."""
        return [got.verified(self.secret) for got in self.receiver.received]

    def got(self, type: str, contact_id: int | None = None) -> list[dict[str, Any]]:
        return [
            body
            for body in self.bodies()
            if body["type"] == type
            and (contact_id is None or body["data"]["contact"]["id"] == contact_id)
        ]

    def members(self) -> list[int]:
        response = self.owner.get(f"/api/v1/audiences/{self.audience_id}/contacts")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    def pulled(self) -> list[dict[str, Any]]:
        """Every event of the account by the pull API, page by page."""
        bodies, after = [], 0
        while True:
            page = self.owner.get("/api/v1/events", after=after, limit=3).json()
            bodies += page["results"]
            if page["next"] is None:
                return bodies
            after = page["next"]


def contact_of(message: dict[str, Any]) -> Contact:
    return Contact.objects.get(pk=message["contact"]["id"])


def test_a_click_announced_then_revoked_by_a_fan_out_and_another_firing_the_automation(
    owner: AccountFixture, receiver: Receiver, door: Any
) -> None:
    loop = Loop(owner, receiver, door)

    # A person's click: announced once judged, in the audience, an automation run scheduled.
    first = loop.mint("alice")
    alice = contact_of(first)
    tap(owner, first, ip=SCANNER_IP)
    loop.settle()
    (clicked,) = loop.got(CLICKED, alice.pk)
    assert clicked["data"]["message"]["id"] == first["id"]
    assert clicked["data"]["campaign"] == {"id": loop.campaign.pk, "name": CAMPAIGN}
    (entered,) = loop.got(ENTERED, alice.pk)
    assert entered["data"]["audience"] == {"id": loop.audience_id, "name": "Clicked Spring"}
    assert loop.members() == [alice.pk]
    run = AutomationRun.objects.get(contact=alice)
    assert run.status == AutomationRun.Status.SCHEDULED
    assert run.trigger_sequence == clicked["data"]["sequence"]

    # Other contacts open links from the same IP within the account's window: a scanner.
    for n in range(owner.account.bot_ip_fanout_contacts - 1):
        tap(owner, loop.mint(f"scanned{n}", campaign=None), ip=SCANNER_IP)
    loop.settle()
    (revoked,) = loop.got(REVOKED, alice.pk)
    assert revoked["data"]["reason"] == "behaviour:ip-fanout"
    assert revoked["data"]["click"] == clicked["data"]["click"]
    (left,) = loop.got(LEFT, alice.pk)
    assert left["data"]["audience"]["id"] == loop.audience_id
    assert loop.members() == []
    # The scanned contacts' clicks were bots when first judged: never announced.
    assert {b["data"]["contact"]["id"] for b in loop.got(CLICKED)} == {alice.pk}

    # Alice's run at its due time: judged a bot within the delay, so skipped, nothing sent.
    counts = runs_due(now=run.due_at + dt.timedelta(seconds=1))
    assert (counts.fired, counts.skipped) == (0, 1)
    run.refresh_from_db()
    assert run.status == AutomationRun.Status.SKIPPED
    assert "No counted click" in run.skipped_reason
    loop.settle()
    assert not loop.got(FIRED)

    # Another person, from an IP of their own: announced, and the automation fires after
    # the delay, to the endpoint (which did not, and cannot, subscribe to automation.fired).
    second = loop.mint("bob")
    bob = contact_of(second)
    tap(owner, second, ip="192.0.2.20")
    loop.settle()
    (bob_clicked,) = loop.got(CLICKED, bob.pk)
    assert loop.members() == [bob.pk]
    bob_run = AutomationRun.objects.get(contact=bob)
    assert runs_due(now=bob_run.due_at - dt.timedelta(seconds=1)).fired == 0  # not yet
    assert runs_due(now=bob_run.due_at + dt.timedelta(seconds=1)).fired == 1
    loop.settle()
    (fired,) = loop.got(FIRED)
    assert fired["data"] == {
        "automation": {"id": loop.automation_id, "name": "Follow up"},
        "journey": "follow-up",
        "contact": bob_clicked["data"]["contact"],
        "message": bob_clicked["data"]["message"],
        "trigger": {"event": CLICKED, "sequence": bob_clicked["data"]["sequence"]},
        "sequence": fired["data"]["sequence"],
    }
    assert bob_clicked["data"]["contact"]["external_id"] == "bob"
    assert bob_clicked["data"]["contact"]["phone"] == bob.phone

    # The pull API lists what the receiver got (each event once: nothing was retried).
    got = loop.bodies()
    assert len({r.msg_id for r in receiver.received}) == len(got)
    assert sorted((b["data"]["sequence"], b["type"]) for b in got) == [
        (b["data"]["sequence"], b["type"]) for b in loop.pulled()
    ]
    assert {b["type"] for b in got} >= {CLICKED, REVOKED, ENTERED, LEFT, FIRED, "click.recorded"}

    # The invariant over everything received: clicked - revoked is whether a click counts.
    told: Counter[tuple[int, int]] = Counter()
    for body in got:
        if body["type"] in (CLICKED, REVOKED):
            pair = (body["data"]["contact"]["id"], body["data"]["message"]["id"])
            told[pair] += 1 if body["type"] == CLICKED else -1
    pairs = set(told) | set(
        MessageClick.objects.filter(account=owner.account).values_list("contact_id", "message_id")
    )
    for contact_id, message_id in pairs:
        counts_now = MessageClick.objects.filter(
            contact_id=contact_id, message_id=message_id, raw_click__judged_at__isnull=False
        ).exists()
        assert told[(contact_id, message_id)] == int(counts_now), (contact_id, message_id)
    assert told == {(alice.pk, first["id"]): 0, (bob.pk, second["id"]): 1}


def test_test_contacts_and_internal_networks_announce_enter_and_fire_nothing(
    owner: AccountFixture, receiver: Receiver, door: Any
) -> None:
    loop = Loop(owner, receiver, door)
    tester_message = loop.mint("tester")
    tester = contact_of(tester_message)
    response = owner.client.patch(f"/api/v1/contacts/{tester.pk}", {"is_test": True}, format="json")
    assert response.status_code == 200 and response.json()["is_test"] is True
    response = owner.client.patch("/api/v1/account", {"internal_ips": [OFFICE]}, format="json")
    assert response.status_code == 200 and response.json()["internal_ips"] == [OFFICE]
    office_message = loop.mint("colleague")
    colleague = contact_of(office_message)

    tap(owner, tester_message, ip="192.0.2.30")
    tap(owner, office_message, ip="203.0.113.9")
    loop.settle()
    assert runs_due(now=timezone.now() + dt.timedelta(hours=1)).fired == 0
    loop.settle()

    # Only click.recorded went out, each saying internal; nothing entered, nothing fired.
    got = loop.bodies()
    assert {b["type"] for b in got} == {"click.recorded"}
    assert sorted(b["data"]["contact"]["id"] for b in got) == sorted([tester.pk, colleague.pk])
    assert all((b["data"]["is_bot"], b["data"]["reason"]) == (True, "internal") for b in got)
    assert loop.members() == []
    assert not AutomationRun.objects.exists()

    # The reports: bot clicks, reason internal, not counted.
    for message, contact in ((tester_message, tester), (office_message, colleague)):
        detail = owner.get(f"/api/v1/messages/{message['id']}").json()
        assert (detail["clicked"], detail["raw_clicks"], detail["bot_clicks"]) == (False, 1, 1)
        journey = owner.get(f"/api/v1/contacts/{contact.pk}/journey").json()
        clicks = [e for e in journey["events"] if e["type"] == "click"]
        assert [(c["is_bot"], c["bot_reason"], c["counted"]) for c in clicks] == [
            (True, "internal", False)
        ]
