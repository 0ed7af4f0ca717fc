"""The dashboard's date ranges and pages, held to the report API's bounds: a day past them
is the 400 page naming it, never a 500 or a chart of eight thousand years. The last 30
days stay the default, and the chart its two years."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.conftest import AccountFixture

PAGES = ["", "campaigns/", "creatives/", "offers/", "lists/", "messages/", "conversions/",
         "postbacks/", "bots/"]  # fmt: skip


def pages(account: AccountFixture) -> list[str]:
    message = account.mint()
    base = f"/dashboard/{account.account.pk}/"
    return [
        *(base + page for page in PAGES),
        f"{base}messages/{message['id']}/",
        f"{base}contacts/{message['contact']['id']}/",
    ]


def refused(response: Any, param: str) -> bool:
    return response.status_code == 400 and f"<code>{param}</code>" in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"end": "9999-12-31"}, "end"),
        ({"start": "0001-01-01", "end": "0001-01-31"}, "start"),
        ({"start": "1999-12-31", "end": "2000-01-05"}, "start"),
        ({"start": "2020-01-01", "end": "2024-01-01"}, "start"),  # over 1,100 days
    ],
)
def test_a_range_past_the_bounds_is_the_400_page_on_every_page(
    dashboard: Client, owner: AccountFixture, params: dict[str, str], param: str
) -> None:
    dashboard.raise_request_exception = False
    for path in pages(owner):
        response = dashboard.get(path, params)
        assert refused(response, param), (path, response.status_code)


@pytest.mark.django_db
def test_the_last_30_days_are_the_default_and_30_days_up_to_an_end_given(
    dashboard: Client, owner: AccountFixture
) -> None:
    base = f"/dashboard/{owner.account.pk}/"
    today = timezone.now().date()  # the owner's time zone is UTC
    dates = dashboard.get(base).context["dates"]
    assert (dates.start, dates.end) == (today - dt.timedelta(days=29), today)
    dates = dashboard.get(base, {"end": "2026-01-31"}).context["dates"]
    assert (dates.start, dates.end) == (dt.date(2026, 1, 2), dt.date(2026, 1, 31))
    dates = dashboard.get(base, {"start": (today - dt.timedelta(days=5)).isoformat()})
    assert dates.context["dates"].end == today


@pytest.mark.django_db
def test_a_message_and_a_contact_show_all_time_unless_asked(
    dashboard: Client, owner: AccountFixture
) -> None:
    for path in pages(owner)[-2:]:
        dates = dashboard.get(path).context["dates"]
        assert (dates.start, dates.end) == (None, None)


@pytest.mark.django_db
def test_the_chart_still_spans_at_most_731_days(dashboard: Client, owner: AccountFixture) -> None:
    base = f"/dashboard/{owner.account.pk}/"
    today = timezone.now().date()
    start = today - dt.timedelta(days=730)
    assert dashboard.get(base, {"start": start, "end": today}).status_code == 200
    too_long = dashboard.get(base, {"start": start - dt.timedelta(days=1), "end": today})
    assert refused(too_long, "start")


@pytest.mark.django_db
@pytest.mark.parametrize("page", ["", "messages/", "conversions/", "postbacks/"])
def test_a_page_more_than_a_million_rows_in_is_the_400_page(
    dashboard: Client, owner: AccountFixture, page: str
) -> None:
    path = f"/dashboard/{owner.account.pk}/{page}"
    assert dashboard.get(path, {"page": "20001"}).status_code == 200  # 1,000,000 rows in
    assert refused(dashboard.get(path, {"page": "20002"}), "page")
