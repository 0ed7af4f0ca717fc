"""The report pages (Overview, Campaigns, Creatives, Offers, Lists, Messages): the same
rows and figures as the report API, sorted, filtered by days, paged and exported."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from core.models import Campaign
from reporting import exports, metrics, report_views, tables
from tests.reporting.conftest import Dataset
from tests.reporting.test_dashboard_pages import column, csv_rows, parse, table, url
from tests.reporting.test_reports import holdable_cursors

REPORTS = ["campaigns", "creatives", "offers", "lists", "messages"]
TODAY = timezone.now().date()
WIDE = {"start": f"{TODAY - dt.timedelta(days=400)}", "end": f"{TODAY + dt.timedelta(days=1)}"}


def api(data: Dataset, dimension: str, **params: Any) -> dict[str, Any]:
    response = data.account.get(f"/api/v1/reports/{dimension}", **params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.django_db
class TestTheFiguresAreTheApis:
    @pytest.mark.parametrize("dimension", REPORTS)
    def test_every_row_and_the_totals_equal_the_report_api(
        self, dashboard: Client, data: Dataset, dimension: str
    ) -> None:
        shown = table(dashboard.get(url(data, f"{dimension}/"), WIDE), dimension)
        expected = api(data, dimension, **WIDE, page_size=1000)
        by_label = {row["label"]: row for row in expected["results"]}
        assert sorted(column(shown, "label")) == sorted(by_label)
        for name in metrics.COLUMNS:
            for label, value in zip(column(shown, "label"), column(shown, name), strict=True):
                api_value = by_label[label][name]
                assert value == ("" if api_value is None else str(api_value)), (label, name)
            total = shown["totals"][shown["columns"].index(name)][0]
            api_total = expected["totals"][name]
            assert total == ("" if api_total is None else str(api_total)), name

    def test_every_metric_is_a_column_of_every_report(self) -> None:
        assert {c.name for c in report_views.METRIC_COLUMNS} == set(metrics.COLUMNS)

    def test_the_overview_shows_the_apis_totals_for_the_same_days(
        self, dashboard: Client, data: Dataset
    ) -> None:
        response = dashboard.get(url(data, ""))
        today = timezone.now().date()  # the test account's time zone is UTC
        start = (today - dt.timedelta(days=29)).isoformat()
        totals = api(data, "days", start=start, end=today.isoformat())["totals"]
        figures = parse(response).figures
        assert figures["sends"] == (str(totals["sends"]), "2")
        assert figures["revenue"] == ("20.50", "20.50")
        assert figures["click_rate"] == ("0.5000", "50.0%")
        assert figures["view_through_revenue"][0] == totals["view_through_revenue"]
        assert set(figures) == set(report_views.OVERVIEW_METRICS)

    def test_the_chart_spans_at_most_two_years(self, dashboard: Client, data: Dataset) -> None:
        response = dashboard.get(url(data, ""), {"start": "2000-01-01", "end": "2026-01-01"})
        assert response.status_code == 400 and b"<code>start</code>" in response.content
        assert dashboard.get(url(data, ""), {"start": "2000-01-01"}).status_code == 400

    def test_the_chart_gets_one_point_per_day(self, dashboard: Client, data: Dataset) -> None:
        response = dashboard.get(url(data, ""), {"start": "2026-01-01", "end": "2026-01-31"})
        body = response.content.decode()
        start = body.index('<script id="daily-series" type="application/json">')
        series = json.loads(body[body.index(">", start) + 1 : body.index("</script>", start)])
        assert [point["day"] for point in series][:2] == ["2026-01-01", "2026-01-02"]
        assert len(series) == 31
        assert set(series[0]) == {"day", "sends", "unique_clicks", "conversions", "revenue"}
        assert "/static/reporting/vendor/chart.umd.min.js" in body


@pytest.mark.django_db
class TestExports:
    @pytest.mark.parametrize("dimension", ["days", *REPORTS])
    def test_the_csv_is_the_table_with_its_totals(
        self, dashboard: Client, data: Dataset, dimension: str
    ) -> None:
        page = url(data, "" if dimension == "days" else f"{dimension}/")
        shown = table(dashboard.get(page, WIDE), dimension)
        exported = csv_rows(dashboard.get(page, {**WIDE, "format": "csv"}))
        assert exported[0] == shown["columns"]
        assert exported[1:-1] == [[cell[0] for cell in row] for row in shown["rows"]]
        assert exported[-1] == [cell[0] for cell in shown["totals"]]
        assert exported[-1][0] == "Total"

    def test_a_name_that_is_a_formula_is_defused_in_the_csv(
        self, dashboard: Client, data: Dataset
    ) -> None:
        Campaign.objects.filter(name="Spring").update(name="=HYPERLINK(evil)")
        exported = csv_rows(dashboard.get(url(data, "campaigns/"), {"format": "csv"}))
        assert "'=HYPERLINK(evil)" in [row[0] for row in exported]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("page", ["messages/", "postbacks/"])
def test_an_export_reads_its_rows_as_it_sends_them(
    dashboard: Client, data: Dataset, monkeypatch: Any, page: str
) -> None:
    params = {**WIDE, "format": "csv"}
    whole = b"".join(dashboard.get(url(data, page), params).streaming_content)
    monkeypatch.setattr(exports, "CHUNK_CHARS", 1)  # a chunk a line
    chunks = iter(dashboard.get(url(data, page), params).streaming_content)
    sent = [next(chunks), next(chunks)]  # the header and the first row
    assert holdable_cursors() == [False]  # see tests/reporting/test_reports.py
    assert b"".join([*sent, *chunks]) == whole
    assert holdable_cursors() == []


@pytest.mark.django_db
class TestSorting:
    def test_campaigns_sort_by_any_column_either_way(
        self, dashboard: Client, data: Dataset
    ) -> None:
        by_name = table(dashboard.get(url(data, "campaigns/"), {"sort": "label"}), "campaigns")
        assert column(by_name, "label") == ["Spring", "Summer"]
        backwards = table(dashboard.get(url(data, "campaigns/"), {"sort": "-label"}), "campaigns")
        assert column(backwards, "label") == ["Summer", "Spring"]
        by_bots = table(dashboard.get(url(data, "campaigns/"), {"sort": "bot_pct"}), "campaigns")
        assert column(by_bots, "bot_pct") == ["0.5000", "1.0000"]

    def test_the_headers_say_and_flip_the_order(self, dashboard: Client, data: Dataset) -> None:
        body = dashboard.get(url(data, "campaigns/"), {"sort": "-revenue"}).content.decode()
        assert '<th scope="col" data-column="revenue" aria-sort="descending" class="num">' in body
        assert 'href="?sort=revenue"' in body  # clicking it again sorts ascending
        assert 'href="?sort=-sends"' in body  # another figure: biggest first

    def test_a_new_date_range_keeps_the_order(self, dashboard: Client, data: Dataset) -> None:
        body = dashboard.get(url(data, "campaigns/"), {"sort": "label"}).content.decode()
        assert '<input type="hidden" name="sort" value="label">' in body

    def test_the_days_read_oldest_first(self, dashboard: Client, data: Dataset) -> None:
        days = column(table(dashboard.get(url(data, ""), WIDE), "days"), "label")
        assert days == sorted(days) and len(days) >= 2


@pytest.mark.django_db
class TestDateRange:
    def test_the_default_is_the_last_30_days(self, dashboard: Client, data: Dataset) -> None:
        spring = table(dashboard.get(url(data, "campaigns/"), {"sort": "label"}), "campaigns")
        assert column(spring, "sends") == ["1", "1"]  # the 40-day-old message is left out
        body = dashboard.get(url(data, "campaigns/")).content.decode()
        today = timezone.now().date()
        assert f'name="start" value="{today - dt.timedelta(days=29)}"' in body
        assert f'name="end" value="{today}"' in body

    def test_a_wider_range_counts_older_sends(self, dashboard: Client, data: Dataset) -> None:
        start = (timezone.now() - dt.timedelta(days=60)).date().isoformat()
        wide = table(
            dashboard.get(url(data, "campaigns/"), {"sort": "label", "start": start}),
            "campaigns",
        )
        assert column(wide, "sends") == ["2", "1"]
        assert column(wide, "unique_clicks") == ["2", "0"]

    def test_a_range_with_nothing_says_so(self, dashboard: Client, data: Dataset) -> None:
        response = dashboard.get(
            url(data, "campaigns/"), {"start": "2001-01-01", "end": "2001-01-31"}
        )
        assert "Nothing in this range." in response.content.decode()


@pytest.mark.django_db
class TestMessages:
    def test_a_campaign_row_leads_to_its_page_and_on_to_its_messages(
        self, dashboard: Client, data: Dataset
    ) -> None:
        campaigns = table(dashboard.get(url(data, "campaigns/"), WIDE), "campaigns")
        spring = Campaign.objects.get(name="Spring")
        link = next(row[0][2] for row in campaigns["rows"] if row[0][0] == "Spring")
        assert link == url(data, f"campaigns/{spring.pk}/?start={WIDE['start']}&end={WIDE['end']}")
        page = dashboard.get(link)
        assert page.status_code == 200
        link = url(data, f"messages/?start={WIDE['start']}&end={WIDE['end']}&campaign={spring.pk}")
        assert f'href="{link}"' in page.content.decode().replace("&amp;", "&")
        messages = table(dashboard.get(link), "messages")
        assert sorted(int(key) for key in column(messages, "contact_id")) == sorted(
            [data.spring["contact"]["id"], data.old["contact"]["id"]]
        )

    def test_each_message_links_to_its_page_and_its_contact(
        self, dashboard: Client, data: Dataset
    ) -> None:
        messages = table(dashboard.get(url(data, "messages/")), "messages")
        first = messages["rows"][0]
        assert first[0][2] == url(data, f"messages/{data.summer['id']}/")  # newest first
        assert first[messages["columns"].index("contact_id")][2] == url(
            data, f"contacts/{data.summer['contact']['id']}/"
        )

    def test_messages_sort_by_when_they_were_sent(self, dashboard: Client, data: Dataset) -> None:
        oldest = table(
            dashboard.get(url(data, "messages/"), {**WIDE, "sort": "sent_at"}), "messages"
        )
        first = oldest["rows"][0][0]
        assert first[2] == url(data, f"messages/{data.old['id']}/")  # the 40-day-old one
        sent = column(oldest, "sent_at")
        assert sent == sorted(sent) and len(sent) == 3
        newest = table(
            dashboard.get(url(data, "messages/"), {**WIDE, "sort": "-sent_at"}), "messages"
        )
        assert column(newest, "sent_at") == sent[::-1]

    def test_the_filters_offer_the_accounts_campaigns(
        self, dashboard: Client, data: Dataset, outsider: Any
    ) -> None:
        Campaign.objects.create(account=outsider.account, name="Not yours")
        body = dashboard.get(url(data, "messages/")).content.decode()
        assert '<select name="campaign">' in body and ">Spring</option>" in body
        assert "Not yours" not in body

    def test_another_accounts_campaign_is_404(
        self, dashboard: Client, data: Dataset, outsider: Any
    ) -> None:
        theirs = Campaign.objects.create(account=outsider.account, name="Theirs")
        response = dashboard.get(url(data, "messages/"), {"campaign": theirs.pk})
        assert response.status_code == 404
        assert dashboard.get(url(data, "messages/"), {"campaign": "abc"}).status_code == 400

    def test_it_pages(self, dashboard: Client, data: Dataset, monkeypatch: Any) -> None:
        monkeypatch.setattr(tables, "PAGE_SIZE", 2)
        first = dashboard.get(url(data, "messages/"), WIDE)
        body = first.content.decode()
        assert "1–2 of 3" in body and "Page 1 of 2" in body
        assert f'href="?start={WIDE["start"]}&amp;end={WIDE["end"]}&amp;page=2" rel="next"' in body
        second = table(dashboard.get(url(data, "messages/"), {**WIDE, "page": 2}), "messages")
        assert len(second["rows"]) == 1
        shown = column(table(first, "messages"), "label") + column(second, "label")
        assert len(set(shown)) == 3


@pytest.mark.django_db
class TestPhones:
    def test_pages_are_sized_for_the_device_and_tables_scroll_in_a_box(
        self, dashboard: Client, data: Dataset
    ) -> None:
        for page in ["", "campaigns/", "conversions/", "bots/", f"messages/{data.spring['id']}/"]:
            body = dashboard.get(url(data, page)).content.decode()
            assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in body
            assert body.count("<table") == body.count('<div class="table-wrap"'), page

    def test_the_stylesheet_adapts_to_narrow_screens(self, anonymous: Client) -> None:
        css = b"".join(anonymous.get("/static/reporting/dashboard.css").streaming_content)
        assert b"@media (max-width: 600px)" in css
        assert b".table-wrap {\n  overflow-x: auto;" in css
