"""IP anonymisation (links.privacy): an account's judged clicks past the fan-out window and
5 minutes get their IP truncated (IPv4 /24, IPv6 /48), once; before that, unjudged, or in
an account without the setting, never; the run's queries are bounded."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.models import Account, Contact, Message
from links import ids
from links.models import MessageShortLink, MessageShortLinkClick
from links.privacy import ip_truncated, ips_anonymize

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def click_at(account: Account, ip: str, at: dt.datetime, *, judged: bool = True) -> Any:
    contact = Contact.objects.create(account=account, external_id=ids.new_link_id())
    message = Message.objects.create(account=account, contact=contact, body="x", rewritten_body="x")
    link = MessageShortLink.objects.create(
        link_id=ids.new_link_id(), account=account, message=message, contact=contact,
        name="link1", destination_url="https://a.example/",
    )  # fmt: skip
    return MessageShortLinkClick.objects.create(
        account=account, short_link=link, message=message, contact=contact, ip=ip,
        clicked_at=at, judged_at=at if judged else None, click_id=ids.new_link_id() + "c",
        country="BR", network="AS64500",
    )  # fmt: skip


def ip_of(click: Any) -> str:
    click.refresh_from_db()
    return click.ip


def test_truncation_is_a_24_or_a_48() -> None:
    assert ip_truncated("203.0.113.77") == "203.0.113.0"
    assert ip_truncated("2001:db8:abcd:12:1:2:3:4") == "2001:db8:abcd::"


def test_judged_ips_past_the_window_are_truncated_once_and_nothing_else(owner, outsider) -> None:
    account = owner.account
    account.anonymize_ips = True
    account.bot_ip_fanout_seconds = 60
    account.save()
    window = dt.timedelta(seconds=60) + dt.timedelta(minutes=5)
    old = click_at(account, "203.0.113.77", NOW - window - dt.timedelta(seconds=1))
    v6 = click_at(account, "2001:db8:abcd:12::99", NOW - window - dt.timedelta(seconds=2))
    recent = click_at(account, "198.51.100.9", NOW - window + dt.timedelta(seconds=10))
    late_judge = click_at(account, "192.0.2.5", NOW - window - dt.timedelta(hours=1), judged=False)
    after_late = click_at(account, "192.0.2.6", NOW - window - dt.timedelta(minutes=30))
    other = click_at(outsider.account, "203.0.113.88", NOW - dt.timedelta(days=1))

    assert ips_anonymize(now=NOW) == 0  # the oldest unjudged click holds the mark back
    assert ip_of(late_judge) == "192.0.2.5" and ip_of(after_late) == "192.0.2.6"

    MessageShortLinkClick.objects.filter(pk=late_judge.pk).update(judged_at=NOW)
    assert ips_anonymize(now=NOW) == 4
    assert ip_of(old) == "203.0.113.0"
    assert ip_of(v6) == "2001:db8:abcd::"
    assert ip_of(late_judge) == "192.0.2.0" and ip_of(after_late) == "192.0.2.0"
    assert ip_of(recent) == "198.51.100.9"  # still inside the fan-out window + 5 minutes
    assert ip_of(other) == "203.0.113.88"  # an account without the setting
    old.refresh_from_db()
    assert (old.country, old.network) == ("BR", "AS64500")

    assert ips_anonymize(now=NOW) == 0  # nothing rescanned
    assert ips_anonymize(now=NOW + dt.timedelta(seconds=11)) == 1
    assert ip_of(recent) == "198.51.100.0"


def test_a_run_costs_a_few_queries_per_batch_whatever_the_clicks(owner, make_account) -> None:
    accounts = [owner.account] + [make_account().account for _ in range(2)]
    for account in accounts:
        Account.objects.filter(pk=account.pk).update(anonymize_ips=True)
        for n in range(20):
            click_at(account, f"203.0.113.{n + 1}", NOW - dt.timedelta(hours=1, seconds=n))
    with CaptureQueriesContext(connection) as queries:
        assert ips_anonymize(now=timezone.now()) == 60
    # Per account: lock, oldest unjudged, batch end, update, mark (+ savepoint bookkeeping).
    # The embedded SQLite default truncates row by row (no inet functions): a click each.
    per_click = 0 if connection.vendor == "postgresql" else 1
    assert len(queries) <= 1 + 3 * 8 + 60 * per_click
