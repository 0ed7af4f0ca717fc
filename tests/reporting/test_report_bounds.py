"""Report and conversion-list ranges and pages, held to core.bounds: days from
2000-01-01 to today + 366, a missing end today (in the account's time zone), a missing start
1,099 days before the end, at most 1,100 days; at most 1,000 rows a page, a million in."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.utils import timezone

from attribution.models import Conversion
from core import bounds
from reporting.services import rollups_build
from tests.conftest import AccountFixture


def far_from_utc_zone() -> str:
    """A zone whose date differs from UTC's right now: +14 from 10:00 UTC, -11 before."""
    return "Pacific/Kiritimati" if timezone.now().hour >= 10 else "Pacific/Pago_Pago"


def local_today(account: AccountFixture) -> dt.date:
    return timezone.now().astimezone(zoneinfo.ZoneInfo(account.account.time_zone)).date()


def errors(response: Any) -> dict[str, list[str]]:
    assert response.status_code == 400, response.content[:300]
    return response.json()["errors"]


REPORT_PATHS = ["/api/v1/reports/days", "/api/v1/reports/messages", "/api/v1/conversions"]
LATEST = "Must be a date from 2000-01-01 to {}."


@pytest.mark.django_db
class TestRanges:
    def test_a_report_without_dates_is_the_1100_days_up_to_the_accounts_today(
        self, make_account: Any
    ) -> None:
        account = make_account(time_zone=far_from_utc_zone())
        today = local_today(account)
        assert today != timezone.now().date()  # the account's today, not UTC's
        body = account.get("/api/v1/reports/campaigns").json()
        assert (body["filters"]["start"], body["filters"]["end"]) == (
            (today - dt.timedelta(days=1099)).isoformat(),
            today.isoformat(),
        )
        body = account.get("/api/v1/reports/campaigns", end="2026-06-30").json()
        assert body["filters"]["start"] == "2023-06-27"

    def test_a_send_older_than_the_default_range_is_only_in_a_range_asking_for_it(
        self, owner: AccountFixture
    ) -> None:
        owner.mint(sent_at="2001-03-01T12:00:00Z")
        owner.mint()
        rollups_build()
        days = [r["key"] for r in owner.get("/api/v1/reports/days").json()["results"]]
        assert days == [timezone.now().date().isoformat()]
        asked = owner.get("/api/v1/reports/days", start="2001-01-01", end="2001-12-31").json()
        assert [r["key"] for r in asked["results"]] == ["2001-03-01"]

    @pytest.mark.parametrize("path", REPORT_PATHS)
    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"end": "9999-12-31"}, "end"),
            ({"start": "0001-01-01"}, "start"),
            ({"start": "1999-12-31", "end": "2000-01-31"}, "start"),
        ],
    )
    def test_a_date_outside_2000_to_a_year_ahead_is_a_400_naming_it(
        self, owner: AccountFixture, path: str, params: dict[str, str], field: str
    ) -> None:
        latest = local_today(owner) + dt.timedelta(days=366)
        assert errors(owner.get(path, **params)) == {field: [LATEST.format(latest)]}

    @pytest.mark.parametrize("path", REPORT_PATHS)
    def test_a_year_ahead_is_the_last_day_asked_for(self, owner: AccountFixture, path: str) -> None:
        today = local_today(owner)
        latest, past = today + dt.timedelta(days=366), today + dt.timedelta(days=367)
        assert owner.get(path, start=today, end=latest).status_code == 200
        assert list(errors(owner.get(path, start=today, end=past))) == ["end"]

    @pytest.mark.parametrize("path", REPORT_PATHS)
    def test_a_range_over_1100_days_is_a_400_naming_start(
        self, owner: AccountFixture, path: str
    ) -> None:
        today = local_today(owner)
        longest = today - dt.timedelta(days=1099)
        assert owner.get(path, start=longest, end=today).status_code == 200
        too_long = errors(owner.get(path, start=longest - dt.timedelta(days=1), end=today))
        assert list(too_long) == ["start"] and "1,100" in too_long["start"][0]
        assert list(errors(owner.get(path, start="2000-01-01"))) == ["start"]

    def test_the_csv_export_is_held_to_the_same_range(self, owner: AccountFixture) -> None:
        response = owner.get("/api/v1/reports/messages", end="9999-12-31", format="csv")
        assert list(errors(response)) == ["end"]


def conversion(account: AccountFixture, occurred_at: dt.datetime, txn_id: str) -> Conversion:
    return Conversion.objects.create(
        account=account.account, txn_id=txn_id, currency="USD", occurred_at=occurred_at
    )


def listed(account: AccountFixture, **params: Any) -> list[str]:
    response = account.get("/api/v1/conversions", **params)
    assert response.status_code == 200, response.content
    return [row["txn_id"] for row in response.json()["results"]]


@pytest.mark.django_db
class TestConversionList:
    def test_days_are_the_accounts_days(self, make_account: Any) -> None:
        account = make_account(time_zone="America/New_York")
        day = local_today(account) - dt.timedelta(days=10)
        # 22:00 in New York on `day` is 03:00 UTC the day after.
        late = dt.datetime.combine(day, dt.time(22), zoneinfo.ZoneInfo("America/New_York"))
        conversion(account, late, "late")
        assert listed(account, start=day, end=day) == ["late"]
        after = day + dt.timedelta(days=1)
        assert listed(account, start=after, end=after) == []

    def test_by_default_it_lists_the_1100_days_up_to_the_accounts_today(
        self, make_account: Any
    ) -> None:
        account = make_account(time_zone=far_from_utc_zone())
        now = timezone.now()
        conversion(account, now, "now")
        conversion(account, now - dt.timedelta(days=1098), "within")
        conversion(account, now - dt.timedelta(days=1102), "older")
        assert listed(account) == ["now", "within"]
        assert listed(account, start="2020-01-01", end="2021-01-01") == []


@pytest.mark.django_db
class TestPages:
    def test_the_deepest_report_page_is_a_million_rows_in(self, owner: AccountFixture) -> None:
        deepest = bounds.MAX_OFFSET // 1000 + 1
        response = owner.get("/api/v1/reports/messages", page=deepest, page_size=1000)
        assert response.status_code == 200
        too_deep = errors(owner.get("/api/v1/reports/messages", page=deepest + 1, page_size=1000))
        assert list(too_deep) == ["page"]

    def test_a_page_of_more_than_1000_rows_names_page_size(self, owner: AccountFixture) -> None:
        assert list(errors(owner.get("/api/v1/reports/days", page_size=1001))) == ["page_size"]

    @pytest.mark.parametrize("param", ["page", "page_size"])
    @pytest.mark.parametrize("value", ["ten", "1" + "0" * 30, "-1", "0", "²"])
    def test_a_huge_or_non_numeric_page_is_a_400_naming_it(
        self, owner: AccountFixture, param: str, value: str
    ) -> None:
        owner.client.raise_request_exception = False
        assert list(errors(owner.get("/api/v1/reports/messages", **{param: value}))) == [param]
