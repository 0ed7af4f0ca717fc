"""Membership follows a burst of 10,000 counted clicks set-based (issue 16: current within
10 s of the clicks being stored). The time is the benchmark's to measure
(`make bench-events`, bench/README.md); here the statement count is pinned, which grows
with the burst if membership ever went a contact at a time."""

from __future__ import annotations

import time

import pytest
from django.db import connection
from django.utils import timezone

from audiences.consumer import audiences_consume
from audiences.models import AudienceMember
from audiences.services import audience_create
from core.events import NewEvent, contact_data, events_emit
from core.models import Campaign, Contact, Event, Message
from links import ids
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]
BURST = 10_000


def test_ten_thousand_clicks_with_three_audiences(owner):
    if connection.vendor != "postgresql":
        pytest.skip("the speed target is PostgreSQL's")
    a = owner.account
    spring = Campaign.objects.create(account=a, name="Spring")
    audience_create(account=a, name="Clicked", rule={"all": [{"clicked": {}}]})
    week = {"all": [{"clicked": {"campaign": spring.pk, "within_days": 7}}]}
    audience_create(account=a, name="Spring week", rule=week)
    audience_create(account=a, name="VIP clickers",
                    rule={"all": [{"clicked": {}}, {"label": "vip"}]})  # fmt: skip
    now = timezone.now()
    contacts = Contact.objects.bulk_create(
        Contact(account=a, external_id=f"s{i}", phone=f"+1202555{i:04d}") for i in range(BURST)
    )
    messages = Message.objects.bulk_create(
        Message(account=a, contact=c, campaign=spring, body="b", rewritten_body="b", sent_at=now)
        for c in contacts
    )
    links = MessageShortLink.objects.bulk_create(
        MessageShortLink(link_id=ids.new_link_id(), account=a, message=m, contact=m.contact,
                         name="link1", destination_url="https://a.example/")
        for m in messages
    )  # fmt: skip
    raws = MessageShortLinkClick.objects.bulk_create(
        MessageShortLinkClick(click_id=ids.new_click_id(now), account=a, short_link=link,
                              message=link.message, contact=link.contact, clicked_at=now,
                              judged_at=now)
        for link in links
    )  # fmt: skip
    MessageClick.objects.bulk_create(
        MessageClick(account=a, contact=r.contact, message=r.message, short_link=r.short_link,
                     raw_click=r, click_id=r.click_id, clicked_at=now)
        for r in raws
    )  # fmt: skip
    events_emit(
        NewEvent(account_id=a.pk, type="message.clicked", data={"contact": contact_data(c)})
        for c in contacts
    )

    timings: list[tuple[float, str]] = []

    def timed(execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            timings.append((time.perf_counter() - t, sql[:150]))

    started = time.perf_counter()
    with connection.execute_wrapper(timed):
        assert audiences_consume() == BURST
    took = time.perf_counter() - started
    in_sql = sum(d for d, _ in timings)
    print(
        f"\naudiences consumer: {BURST:,} message.clicked, 3 audiences: {took:.2f} s"
        f" ({in_sql:.2f} s in {len(timings)} statements)"
    )
    assert AudienceMember.objects.count() == 2 * BURST
    assert Event.objects.filter(type="contact.audience_entered").count() == 2 * BURST
    # A few statements a batch of events, never one a contact.
    assert len(timings) <= 200, len(timings)  # 116 on 2026-12-03
