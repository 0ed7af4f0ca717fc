"""The reports read whole months from MonthRollup and TraitMonthRollup (PostgreSQL), which
triggers keep equal to DailyRollup's and TraitRollup's sums: every report and its totals
are the same figures as summed from the days alone, for periods of whole months, partial
months and all time, after an incremental build, a full rebuild and an account's
deletion."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Sum

from core.models import Account
from reporting import reports
from reporting.models import DailyRollup, MonthRollup, TraitMonthRollup, TraitRollup
from reporting.report_params import ReportFilters
from reporting.services import rollups_build
from tests.reporting.dataset import at, click, dataset_build

pytestmark = pytest.mark.django_db

PERIODS = [
    (None, None),
    (dt.date(2026, 1, 1), dt.date(2026, 2, 28)),  # two whole months
    (dt.date(2026, 1, 10), None),  # a partial month, then whole ones to now
    (None, dt.date(2026, 2, 14)),  # whole months, then a partial one
    (dt.date(2026, 1, 11), dt.date(2026, 3, 2)),  # partial, whole, partial
    (dt.date(2026, 2, 1), dt.date(2026, 2, 10)),  # inside one month
]


def later_clicks(data: Any) -> None:
    """Clicks in February and March, so the figures span three months."""
    click(data.link("m1"), at("2026-02-03 10:00"))
    click(data.link("m2", "b"), at("2026-02-20 11:00"), bot=True)
    click(data.link("m3"), at("2026-03-01 12:00"))
    click(data.link("m5"), at("2026-03-05 09:00"))


def reports_of(account: Any, data: Any) -> list[Any]:
    out = []
    for start, end in PERIODS:
        for extra in [{}, *({"offer": o.pk} for o in data.offers.values())]:
            filters = ReportFilters(start=start, end=end, **extra)
            for dimension in reports.DIMENSIONS:
                if dimension == "variants" and "offer" not in extra:
                    continue
                got = reports.report(account, dimension, filters)
                out.append((dimension, filters, got.rows, got.totals))
    return out


def slices(model: Any, when: str) -> set[tuple[Any, ...]]:
    columns = ("campaign_id", "creative_id", "sending_list_id", "offer_id")
    rows = model.objects.values_list(when, *columns)
    return {(day.replace(day=1), *rest) for day, *rest in rows}


def assert_months_are_the_days(account: Any, data: Any, monkeypatch: Any) -> None:
    # A month row exactly where a day row of that month and slice is (none left at zero).
    assert slices(MonthRollup, "month") == slices(DailyRollup, "day")
    read = reports_of(account, data)
    with monkeypatch.context() as m:
        # The oracle: no whole month anywhere, so every figure is summed from the days.
        m.setattr(reports, "whole_months", lambda start, end: (dt.date.max, dt.date.min))
        assert read == reports_of(account, data)


def test_whole_months() -> None:
    assert reports.whole_months(None, None) == (None, None)
    assert reports.whole_months(dt.date(2026, 1, 1), None) == (dt.date(2026, 1, 1), None)
    assert reports.whole_months(dt.date(2026, 1, 2), None) == (dt.date(2026, 2, 1), None)
    assert reports.whole_months(None, dt.date(2026, 2, 28)) == (None, dt.date(2026, 3, 1))
    assert reports.whole_months(None, dt.date(2026, 2, 27)) == (None, dt.date(2026, 2, 1))
    assert reports.whole_months(dt.date(2026, 12, 5), dt.date(2026, 12, 31)) == (
        dt.date(2027, 1, 1),
        dt.date(2027, 1, 1),
    )


def test_an_all_time_report_reads_months_only(owner: Any) -> None:
    data = dataset_build(owner)
    later_clicks(data)
    rollups_build()
    spans = reports._spans(owner.account, ReportFilters())
    assert [s.model for s in spans] == [MonthRollup]
    assert sorted(set(MonthRollup.objects.values_list("month", flat=True))) == [
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
        dt.date(2026, 3, 1),
    ]
    days = DailyRollup.objects.aggregate(Sum("raw_clicks"), Sum("offer_cost"))
    assert MonthRollup.objects.aggregate(Sum("raw_clicks"), Sum("offer_cost")) == days
    traits = TraitRollup.objects.aggregate(Sum("raw_clicks"), Sum("conversions"))
    assert TraitMonthRollup.objects.aggregate(Sum("raw_clicks"), Sum("conversions")) == traits
    assert (
        reports.report(owner.account, "campaigns", ReportFilters()).totals["raw_clicks"]
        == (days["raw_clicks__sum"])
    )


def test_every_report_is_the_days_sums_through_every_build(owner: Any, monkeypatch: Any) -> None:
    data = dataset_build(owner)
    later_clicks(data)
    rollups_build()
    account = owner.account
    assert_months_are_the_days(account, data, monkeypatch)

    # More late clicks: their days are rewritten, and their months follow.
    click(data.link("m1"), at("2026-02-03 11:00"))
    click(data.link("m4"), at("2026-03-06 11:00"), bot=True)
    rollups_build()
    assert_months_are_the_days(account, data, monkeypatch)

    built = sorted(MonthRollup.objects.filter(raw_clicks__gt=0).values_list(
        "month", "campaign_id", "offer_id", "sends", "raw_clicks", "revenue", "offer_cost"
    ), key=repr)  # fmt: skip
    call_command("build_rollups", "--full", stdout=io.StringIO())
    assert sorted(MonthRollup.objects.filter(raw_clicks__gt=0).values_list(
        "month", "campaign_id", "offer_id", "sends", "raw_clicks", "revenue", "offer_cost"
    ), key=repr) == built  # fmt: skip
    assert_months_are_the_days(account, data, monkeypatch)


def test_an_accounts_deletion_leaves_no_months(owner: Any, outsider: Any) -> None:
    dataset_build(owner)
    dataset_build(outsider)
    rollups_build()
    kept = list(MonthRollup.objects.filter(account=outsider.account).values_list())
    kept_traits = list(TraitMonthRollup.objects.filter(account=outsider.account).values_list())
    assert kept and kept_traits
    Account.objects.filter(pk=owner.account.pk).delete()
    assert not MonthRollup.objects.filter(account_id=owner.account.pk).exists()
    assert not TraitMonthRollup.objects.filter(account_id=owner.account.pk).exists()
    assert list(MonthRollup.objects.filter(account=outsider.account).values_list()) == kept
    assert (
        list(TraitMonthRollup.objects.filter(account=outsider.account).values_list()) == kept_traits
    )
