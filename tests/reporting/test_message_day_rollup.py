"""The messages report's totals read MessageDayRollup (PostgreSQL): kept equal, by its
triggers, to the sums of the MessageRollup rows the report lists, under every filter, after
an incremental build, a deleted message, a full rebuild and an account's deletion."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Count, Sum

from core.models import Account, Message
from reporting import reports
from reporting.models import FIGURES, MessageDayRollup, MessageRollup
from reporting.report_params import ReportFilters
from reporting.services import rollups_build
from tests.reporting.dataset import at, click, dataset_build

pytestmark = pytest.mark.django_db


def summed_rows(account: Any, filters: ReportFilters) -> dict[str, Any]:
    """The oracle: the report's own rows (reports._messages) summed here."""
    rows = reports._messages(account, filters)
    return rows.aggregate(sends=Count("pk"), **{f: Sum(f) for f in (*FIGURES, "cost")})


def every_filter(data: Any) -> list[ReportFilters]:
    campaigns = {m.campaign_id for m in data.messages.values()} - {None}
    lists = {m.sending_list_id for m in data.messages.values()} - {None}
    creatives = {m.creative_id for m in data.messages.values()} - {None}
    filters = [ReportFilters(), ReportFilters(start=dt.date(2026, 1, 10))]
    filters += [ReportFilters(end=dt.date(2026, 1, 10)), ReportFilters(start=dt.date(2030, 1, 1))]
    filters += [ReportFilters(offer=o.pk) for o in data.offers.values()]
    filters += [ReportFilters(campaign=c) for c in campaigns]
    filters += [ReportFilters(list=s) for s in lists]
    filters += [
        ReportFilters(creative=c, offer=o.pk) for c in creatives for o in data.offers.values()
    ]
    return filters


def assert_totals_are_the_rows(account: Any, data: Any) -> None:
    for filters in every_filter(data):
        got = reports._message_totals(account, filters)
        want = summed_rows(account, filters)
        assert {k: got[k] or 0 for k in want} == {k: want[k] or 0 for k in want}, filters


def test_the_totals_are_the_sums_of_the_rows_through_every_build(owner: Any) -> None:
    data = dataset_build(owner)
    rollups_build()
    account = owner.account
    assert MessageDayRollup.objects.filter(account=account).exists()
    assert reports._message_totals(account, ReportFilters())["sends"] == len(data.messages)
    assert_totals_are_the_rows(account, data)

    # Late clicks on an old message: its rows are rewritten (deleted, inserted).
    link = data.link("m1")
    click(link, at("2026-01-20 10:00"))
    click(link, at("2026-01-20 10:01"), bot=True)
    rollups_build()
    assert_totals_are_the_rows(account, data)

    # A message deleted: its rows go, and its day's totals lose it.
    before = reports._message_totals(account, ReportFilters())["sends"]
    Message.objects.filter(pk=data.messages["m4"].pk).delete()
    rollups_build()
    assert reports._message_totals(account, ReportFilters())["sends"] == before - 1
    assert_totals_are_the_rows(account, data)

    built = sorted(MessageDayRollup.objects.filter(messages__gt=0).values_list(
        "day", "campaign_id", "offer_id", "is_first_offer", "messages", "raw_clicks", "revenue"
    ))  # fmt: skip
    call_command("build_rollups", "--full", stdout=io.StringIO())
    assert sorted(MessageDayRollup.objects.filter(messages__gt=0).values_list(
        "day", "campaign_id", "offer_id", "is_first_offer", "messages", "raw_clicks", "revenue"
    )) == built  # fmt: skip
    assert_totals_are_the_rows(account, data)


def test_the_report_api_shows_the_rows_sums(owner: Any) -> None:
    dataset_build(owner)
    rollups_build()
    body = owner.get("/api/v1/reports/messages").json()
    rows = body["results"]
    assert body["count"] == len(rows) == MessageRollup.objects.filter(is_first_offer=True).count()
    for field in ("raw_clicks", "bot_clicks", "unique_clicks", "conversions"):
        assert body["totals"][field] == sum(r[field] for r in rows), field


def test_an_accounts_deletion_leaves_no_totals(owner: Any, outsider: Any) -> None:
    dataset_build(owner)
    dataset_build(outsider)
    rollups_build()
    kept = list(MessageDayRollup.objects.filter(account=outsider.account).values_list())
    Account.objects.filter(pk=owner.account.pk).delete()
    assert not MessageDayRollup.objects.filter(account_id=owner.account.pk).exists()
    assert list(MessageDayRollup.objects.filter(account=outsider.account).values_list()) == kept
