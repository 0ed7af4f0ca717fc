"""Every report figure has one definition (reporting/metrics.py): swap one for a
deliberately different one and every place that shows it follows. Here click_rate becomes
raw_clicks / sends instead of unique_clicks / sends: the JSON report API (and its SQL sort
of the messages report), its CSV, the dashboard's report pages, overview and CSV. The
rollups keep counts only, so there is nothing in them to follow."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from reporting import metrics
from reporting.models import DailyRollup, MessageRollup
from tests.reporting.conftest import Dataset
from tests.reporting.test_dashboard_pages import column, csv_rows, parse, table, url

TODAY = timezone.now().date()
WIDE = {"start": f"{TODAY - dt.timedelta(days=400)}", "end": f"{TODAY + dt.timedelta(days=1)}"}

# The data fixture (tests/reporting/conftest.py), every day: Spring sent 2 messages with 3
# raw clicks and 2 counted; Summer 1 message with 1 raw click (a bot) and none counted. In
# the overview's 30 days the older Spring message and its click drop out.
STANDARD = {"Spring": "1.0000", "Summer": "0.0000", "total": "0.6667", "overview": "0.5000"}
SWAPPED = {"Spring": "1.5000", "Summer": "1.0000", "total": "1.3333", "overview": "1.5000"}


def swap(monkeypatch: Any) -> None:
    monkeypatch.setitem(metrics.RATIOS, "click_rate", ("raw_clicks", "sends"))


def api_campaigns(data: Dataset) -> dict[str, str]:
    response = data.account.get("/api/v1/reports/campaigns", **WIDE)
    assert response.status_code == 200, response.content
    body = response.json()
    rates = {row["label"]: row["click_rate"] for row in body["results"]}
    return {**rates, "total": body["totals"]["click_rate"]}


def api_csv_campaigns(data: Dataset) -> dict[str, str]:
    response = data.account.get("/api/v1/reports/campaigns", format="csv", **WIDE)
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    return {row["label"] if row["key"] != "total" else "total": row["click_rate"] for row in rows}


def dashboard_campaigns(dashboard: Client, data: Dataset) -> dict[str, str]:
    shown = table(dashboard.get(url(data, "campaigns/"), WIDE), "campaigns")
    rates = dict(zip(column(shown, "label"), column(shown, "click_rate"), strict=True))
    total = shown["totals"][shown["columns"].index("click_rate")][0]
    return {**rates, "total": total}


def dashboard_csv_campaigns(dashboard: Client, data: Dataset) -> dict[str, str]:
    header, *rows = csv_rows(dashboard.get(url(data, "campaigns/"), {**WIDE, "format": "csv"}))
    label, rate = header.index("label"), header.index("click_rate")
    return {("total" if row[label] == "Total" else row[label]): row[rate] for row in rows}


def messages_by_click_rate(data: Dataset) -> list[int]:
    response = data.account.get("/api/v1/reports/messages", order="click_rate", **WIDE)
    assert response.status_code == 200, response.content
    return [row["key"] for row in response.json()["results"]]


def everywhere(dashboard: Client, data: Dataset) -> dict[str, dict[str, str]]:
    return {
        "api": api_campaigns(data),
        "api csv": api_csv_campaigns(data),
        "dashboard": dashboard_campaigns(dashboard, data),
        "dashboard csv": dashboard_csv_campaigns(dashboard, data),
    }


def expected(rates: dict[str, str]) -> dict[str, dict[str, str]]:
    campaigns = {k: rates[k] for k in ("Spring", "Summer", "total")}
    return {place: campaigns for place in ("api", "api csv", "dashboard", "dashboard csv")}


@pytest.mark.django_db
def test_every_place_shows_click_rate_as_metrics_defines_it(
    dashboard: Client, data: Dataset
) -> None:
    assert everywhere(dashboard, data) == expected(STANDARD)
    assert parse(dashboard.get(url(data, ""))).figures["click_rate"] == ("0.5000", "50.0%")
    spring, summer, old = (data.spring["id"], data.summer["id"], data.old["id"])
    # Ties (Spring's two messages, one counted click each) go newest first.
    assert messages_by_click_rate(data) == [summer, spring, old]


@pytest.mark.django_db
def test_every_place_follows_a_swapped_click_rate(
    dashboard: Client, data: Dataset, monkeypatch: Any
) -> None:
    swap(monkeypatch)
    assert everywhere(dashboard, data) == expected(SWAPPED)
    assert parse(dashboard.get(url(data, ""))).figures["click_rate"] == ("1.5000", "150.0%")
    spring, summer, old = (data.spring["id"], data.summer["id"], data.old["id"])
    # Sorted in SQL: Summer's and the old message's one raw click each tie at 1.0 (newest
    # first), the Spring message's two clicks come last at 2.0.
    assert messages_by_click_rate(data) == [summer, old, spring]


def test_the_rollups_keep_counts_only_so_no_ratio_can_go_stale() -> None:
    for model in (DailyRollup, MessageRollup):
        stored = {f.name for f in model._meta.get_fields()}
        assert stored.isdisjoint(metrics.RATIO_FIELDS), model.__name__
        assert {"unique_clicks", "raw_clicks"} <= stored, model.__name__
