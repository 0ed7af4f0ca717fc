"""Retention (python manage.py apply_retention): each account's raw clicks, postback log,
events and deliveries past its data_retention_days go; every report figure is unchanged
after it, after an incremental rebuild of a day past retention and after build_rollups
--full; links keep redirecting; another account's rows are untouched."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from attribution.adjustments import Change, Origin, conversion_adjust
from attribution.models import Conversion, PostbackLog
from attribution.services import postback_log_open
from core.events import event_emit
from core.models import Account, Event, Offer
from core.retention import retention_cutoff
from links.models import MessageClick, MessageShortLinkClick
from reporting.models import BotReasonRollup, DirtyHour, DirtyMessage, PrunedClicks
from reporting.reports import DIMENSIONS
from reporting.tasks import retention_apply_task
from tests.helpers import tracking
from tests.reporting.dataset import Dataset, click, convert, dataset_build, offer_make
from tests.reporting.test_reports import (
    assert_reports_match_raw_rows,
    build,
    fetch_all,
    filter_sets,
)
from tests.webhooks.receiver import endpoint_make
from webhooks.fanout import events_fan_out
from webhooks.models import WebhookAttempt, WebhookDelivery

pytestmark = pytest.mark.django_db


def reports(data: Dataset) -> dict[str, Any]:
    """Every report of every dimension under every filter set, and the bot reasons."""
    got: dict[str, Any] = {}
    for n, filters in enumerate(filter_sets(data)):
        params = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in filters.items()}
        for dimension in DIMENSIONS:
            if dimension == "variants" and not filters.get("offer"):
                continue
            got[f"{dimension}/{n}"] = fetch_all(data.account, dimension, **params)
    got["bot_reasons"] = sorted(
        BotReasonRollup.objects.filter(account=data.account.account).values_list(
            "day", "bot_reason", "clicks"
        )
    )
    return got


def apply_retention() -> list[dict[str, Any]]:
    out = io.StringIO()
    call_command("apply_retention", stdout=out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def recent(data: Dataset) -> None:
    """A message sent yesterday with a person's click and a conversion: inside retention."""
    yesterday = timezone.now() - dt.timedelta(days=1)
    data.mint("m9", f"{yesterday:%Y-%m-%d %H:%M}", {"a": data.offers["A"]}, campaign="Spring")
    click(data.link("m9"), yesterday + dt.timedelta(minutes=5))
    convert(data.account, data.messages["m9"], data.offers["A"], yesterday, "7.00", "t-new")


def test_reports_are_unchanged_by_retention_and_by_rebuilds_after_it(
    owner: Any, outsider: Any, settings: Any
) -> None:
    settings.API_RATE_LIMIT = "100000/min"  # thousands of report pages below
    data = dataset_build(owner)  # January 2026: about a year old
    recent(data)
    other = dataset_build(outsider)  # the same old rows, kept ten years
    Account.objects.filter(pk=outsider.account.pk).update(data_retention_days=3650)
    # 60 days: every click window is shorter (the account's 30, no offer's own).
    Account.objects.filter(pk=owner.account.pk).update(
        data_retention_days=60, default_click_window_days=30
    )
    for account in (owner, outsider):
        log = postback_log_open(
            account_id=account.account.pk, endpoint="conv", method="GET", host="h",
            query="", body="", ip=None, user_agent="",
        )  # fmt: skip
        PostbackLog.objects.filter(pk=log.pk).update(
            received_at=timezone.now() - dt.timedelta(days=100)
        )
    build()
    assert_reports_match_raw_rows(data)
    before = reports(data)
    counted = MessageClick.objects.count()
    conversions = Conversion.objects.count()
    kept_raw = MessageShortLinkClick.objects.filter(account=outsider.account).count()
    pruned = MessageShortLinkClick.objects.filter(
        account=owner.account, clicked_at__lt=timezone.now() - dt.timedelta(days=60)
    ).count()
    assert pruned >= 8

    summary = {row["table"]: row for row in apply_retention()}

    assert summary["links_messageshortlinkclick"]["rows_deleted"] == pruned
    assert summary["attribution_postbacklog"]["rows_deleted"] == 1
    assert summary["links_messageshortlinkclick"]["partitions_dropped"] == []
    # The owner's recent click stays; the outsider's old ones too (ten years).
    assert MessageShortLinkClick.objects.filter(account=owner.account).count() == 1
    assert MessageShortLinkClick.objects.filter(account=outsider.account).count() == kept_raw
    assert PostbackLog.objects.filter(account=outsider.account).count() == 1
    assert not PostbackLog.objects.filter(account=owner.account).exists()
    # Counted clicks and conversions stay; nothing was marked stale.
    assert (MessageClick.objects.count(), Conversion.objects.count()) == (counted, conversions)
    assert not DirtyHour.objects.exists() and not DirtyMessage.objects.exists()
    assert sum(PrunedClicks.objects.values_list("raw_clicks", flat=True)) == pruned
    assert reports(data) == before

    # An incremental rebuild of a day past retention (a conversion approved late on it)
    # recomputes its conversions and keeps its stored clicks.
    late = Conversion.objects.get(account=owner.account, txn_id="t6")
    conversion_adjust(
        late.pk, Change(approval="approved"), Origin(source="api", reason="late", actor="test")
    )
    assert DirtyHour.objects.exists()
    build()
    after = reports(data)
    totals = (after["campaigns/0"]["totals"], before["campaigns/0"]["totals"])
    assert totals[0]["conversions"] == totals[1]["conversions"] + 1
    for figure in ("raw_clicks", "bot_clicks", "unique_clicks", "sends"):
        assert totals[0][figure] == totals[1][figure], figure
    conversion_adjust(
        late.pk, Change(approval="pending"), Origin(source="api", reason="late", actor="test")
    )
    build()
    assert reports(data) == before

    call_command("build_rollups", "--full", stdout=io.StringIO())
    assert reports(data) == before
    # A second run finds nothing more to delete.
    assert all(row["rows_deleted"] == 0 for row in apply_retention())
    assert reports(data) == before
    assert_reports_match_raw_rows(other)

    # The links whose clicks are gone still redirect.
    response = tracking(owner).get(f"/{data.link('m1').link_id}")
    assert response.status_code == 302


def test_events_and_deliveries_go_with_the_account_retention(owner: Any, settings: Any) -> None:
    settings.EVENTS_KEEP_DAYS = 365
    Account.objects.filter(pk=owner.account.pk).update(data_retention_days=40)
    for tag, days in (("old", 50), ("young", 10), ("newest", 0)):
        event_emit(account_id=owner.account.pk, type="message.clicked", data={"tag": tag})
        Event.objects.filter(data__tag=tag).update(
            created_at=timezone.now() - dt.timedelta(days=days)
        )
    endpoint_make(owner, "https://hooks.example.com/a")
    events_fan_out()  # numbers them and makes a delivery of each
    delivery = WebhookDelivery.objects.get(event__data__tag="old")
    WebhookAttempt.objects.create(delivery=delivery, status_code=500)
    summary = {row["table"]: row["rows_deleted"] for row in apply_retention()}
    assert summary["core_event"] == 1
    assert summary["webhooks_webhookdelivery"] == 1
    assert summary["webhooks_webhookattempt"] == 1
    assert set(Event.objects.values_list("data__tag", flat=True)) == {"young", "newest"}
    assert WebhookDelivery.objects.count() == 2
    assert retention_apply_task.apply().result == 0


def test_the_cutoff_is_the_start_of_a_local_day() -> None:
    now = dt.datetime(2026, 12, 3, 8, 50, tzinfo=dt.UTC)
    cutoff = retention_cutoff(30, "America/New_York", now)
    assert cutoff.isoformat() == "2026-11-03T00:00:00-05:00"
    assert retention_cutoff(1, "UTC", now) == dt.datetime(2026, 12, 2, tzinfo=dt.UTC)


def test_retention_never_deletes_inside_a_click_window(owner: Any) -> None:
    """A retention stored shorter than an offer's window (past the API's check) is widened
    to the window: a postback inside it still finds its click."""
    data = Dataset(owner)
    offer = offer_make(owner, "Long window")
    Offer.objects.filter(pk=offer.pk).update(click_window_days=100)
    Account.objects.filter(pk=owner.account.pk).update(
        data_retention_days=30, default_click_window_days=30
    )
    data.mint("w1", f"{timezone.now() - dt.timedelta(days=120):%Y-%m-%d %H:%M}", {"a": offer})
    inside = click(data.link("w1"), timezone.now() - dt.timedelta(days=80))
    outside = click(data.link("w1"), timezone.now() - dt.timedelta(days=110))
    apply_retention()
    left = set(MessageShortLinkClick.objects.values_list("pk", flat=True))
    assert left == {inside.pk}
    assert outside.pk not in left
