"""What each dashboard page shows, read off the page the way a person reads it."""

from __future__ import annotations

import csv
import datetime as dt
import io
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from attribution.models import Conversion, PostbackLog
from core.models import Campaign, Offer
from links.models import MessageShortLinkClick
from reporting.services import rollups_build
from tests.helpers import tap
from tests.reporting import dataset, reference
from tests.reporting.conftest import Dataset


class TableParser(HTMLParser):
    """The tables of a page: per table id, the header names (data-column) and each body
    row's cells as (data-value, text, href)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, Any]] = {}
        self.figures: dict[str, tuple[str, str]] = {}
        self._table: dict[str, Any] | None = None
        self._section = ""
        self._cell: list[Any] | None = None
        self._figure: str | None = None
        self._figure_value: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self._table = {"columns": [], "rows": [], "totals": None}
            self.tables[a.get("id") or f"table-{len(self.tables)}"] = self._table
        elif self._table is not None and tag in ("thead", "tbody", "tfoot"):
            self._section = tag
        elif self._table is not None and tag == "th" and self._section == "thead":
            self._table["columns"].append(a.get("data-column"))
        elif self._table is not None and tag == "tr" and a.get("class") == "empty":
            pass  # "Nothing in this range."
        elif self._table is not None and tag == "tr" and self._section in ("tbody", "tfoot"):
            row: list[Any] = []
            if self._section == "tbody":
                self._table["rows"].append(row)
            else:
                self._table["totals"] = row
        elif self._table is not None and tag == "td" and "data-value" in a:
            self._cell = [a["data-value"], "", None]
            target = self._table["totals"] if self._section == "tfoot" else self._table["rows"][-1]
            target.append(self._cell)
        elif tag == "a" and self._cell is not None:
            self._cell[2] = a.get("href")
        elif tag == "div" and "data-metric" in a:
            self._figure = a["data-metric"]
        elif tag == "span" and self._figure and a.get("class") == "figure-value":
            self._figure_value = [a.get("data-value") or "", ""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "td":
            self._cell = None
        elif tag == "span" and self._figure_value is not None and self._figure:
            self.figures[self._figure] = (self._figure_value[0], self._figure_value[1].strip())
            self._figure, self._figure_value = None, None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[1] += data
        if self._figure_value is not None:
            self._figure_value[1] += data


def parse(response: Any) -> TableParser:
    assert response.status_code == 200, response.content[:500]
    parser = TableParser()
    parser.feed(response.content.decode())
    return parser


def table(response: Any, name: str) -> dict[str, Any]:
    return parse(response).tables[f"table-{name}"]


def column(tbl: dict[str, Any], name: str) -> list[str]:
    index = tbl["columns"].index(name)
    return [row[index][0] for row in tbl["rows"]]


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def url(data: Dataset, page: str) -> str:
    return f"/dashboard/{data.account.account.pk}/{page}"


@pytest.mark.django_db
class TestMessage:
    def test_it_shows_clicked_converted_revenue_and_every_raw_click(
        self, dashboard: Client, data: Dataset
    ) -> None:
        response = dashboard.get(url(data, f"messages/{data.spring['id']}/"))
        body = response.content.decode()
        assert '<dd data-fact="clicked">yes</dd>' in body
        assert '<dd data-fact="converted">yes</dd>' in body
        assert '<dd data-fact="revenue">20.50</dd>' in body
        assert '<dd data-fact="raw_clicks">2 (1 bot)</dd>' in body
        clicks = table(response, "clicks")
        assert column(clicks, "is_bot") == ["false", "true"]
        assert column(clicks, "bot_reason") == ["", "ua:http-library:curl"]
        assert column(clicks, "counted") == ["true", "false"]
        assert column(clicks, "click_id")[0] == data.human_click_id

    def test_each_raw_click_shows_what_it_came_from(self, dashboard: Client, data: Dataset) -> None:
        clicks = table(dashboard.get(url(data, f"messages/{data.spring['id']}/")), "clicks")
        assert column(clicks, "device") == ["mobile", "other"]  # an iPhone, then curl
        assert column(clicks, "os") == ["iOS", ""]
        assert column(clicks, "browser") == ["Mobile Safari", "curl"]
        assert {"country", "network", "variant"} <= set(clicks["columns"])

    def test_a_message_only_bots_clicked_is_not_clicked(
        self, dashboard: Client, data: Dataset
    ) -> None:
        body = dashboard.get(url(data, f"messages/{data.summer['id']}/")).content.decode()
        assert '<dd data-fact="clicked">no</dd>' in body
        assert '<dd data-fact="converted">no</dd>' in body

    def test_its_raw_clicks_export_as_shown(self, dashboard: Client, data: Dataset) -> None:
        page = table(dashboard.get(url(data, f"messages/{data.spring['id']}/")), "clicks")
        rows = csv_rows(
            dashboard.get(url(data, f"messages/{data.spring['id']}/"), {"format": "csv"})
        )
        assert rows[0] == page["columns"]
        assert rows[1:] == [[cell[0] for cell in row] for row in page["rows"]]

    def test_its_links_show_their_offer_and_clicks(self, dashboard: Client, data: Dataset) -> None:
        page = url(data, f"messages/{data.spring['id']}/")
        links = table(dashboard.get(page), "links")
        assert column(links, "link_id") == [data.spring["links"][0]["link_id"]]
        assert (column(links, "offer"), column(links, "raw_clicks")) == (["Sale"], ["2"])
        exported = csv_rows(dashboard.get(page, {"format": "csv", "table": "links"}))
        assert exported == [links["columns"], [c[0] for c in links["rows"][0]]]

    def test_the_body_is_escaped(self, dashboard: Client, owner: Any) -> None:
        message = owner.mint(
            body="<script>alert(1)</script> {{l}}", links={"l": {"url": "https://a.example/"}}
        )
        body = dashboard.get(
            f"/dashboard/{owner.account.pk}/messages/{message['id']}/"
        ).content.decode()
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


@pytest.mark.django_db
class TestContact:
    def test_the_journey_is_in_time_order(self, dashboard: Client, data: Dataset) -> None:
        response = dashboard.get(url(data, f"contacts/{data.contact_id}/"))
        journey = table(response, "journey")
        assert column(journey, "type") == ["message", "click", "click", "conversion"]
        assert column(journey, "revenue")[3] == "20.50"
        assert '<dd data-fact="total_revenue">20.50</dd>' in response.content.decode()
        # Every message row links to the message's page.
        message_cells = [row[journey["columns"].index("message_id")] for row in journey["rows"]]
        assert message_cells[0][2] == url(data, f"messages/{data.spring['id']}/")

    def test_the_journeys_clicks_show_what_they_came_from(
        self, dashboard: Client, data: Dataset
    ) -> None:
        journey = table(dashboard.get(url(data, f"contacts/{data.contact_id}/")), "journey")
        assert column(journey, "device")[1:3] == ["mobile", "other"]
        assert column(journey, "browser")[1:3] == ["Mobile Safari", "curl"]
        assert {"os", "country", "network", "variant"} <= set(journey["columns"])

    def test_the_journey_sorts_newest_first_and_filters_by_day(
        self, dashboard: Client, data: Dataset
    ) -> None:
        newest = table(
            dashboard.get(url(data, f"contacts/{data.contact_id}/"), {"sort": "-at"}), "journey"
        )
        assert column(newest, "type") == ["conversion", "click", "click", "message"]
        today = column(newest, "at")[0][:10]
        only_today = table(
            dashboard.get(url(data, f"contacts/{data.contact_id}/"), {"start": today}), "journey"
        )
        assert column(only_today, "type") == ["click", "conversion"]


@pytest.mark.django_db
class TestConversions:
    def test_it_lists_the_accounts_conversions(
        self, dashboard: Client, data: Dataset, outsider: Any
    ) -> None:
        from tests.reporting.conftest import dataset_build

        dataset_build(outsider)  # a conversion of another account
        conversions = table(dashboard.get(url(data, "conversions/")), "conversions")
        assert column(conversions, "txn_id") == ["t-1"]
        assert column(conversions, "revenue") == ["20.50"]
        assert column(conversions, "attribution_type") == ["click_through"]
        assert conversions["rows"][0][conversions["columns"].index("contact_id")][2] == url(
            data, f"contacts/{data.contact_id}/"
        )

    def test_it_sorts_and_exports_what_it_shows(self, dashboard: Client, data: Dataset) -> None:
        Conversion.objects.create(
            account=data.account.account, txn_id="t-0", revenue="5", currency="USD",
            occurred_at=Conversion.objects.get().occurred_at,
        )  # fmt: skip
        by_revenue = table(
            dashboard.get(url(data, "conversions/"), {"sort": "revenue"}), "conversions"
        )
        assert column(by_revenue, "revenue") == ["5.00", "20.50"]
        descending = dashboard.get(url(data, "conversions/"), {"sort": "-revenue"})
        assert column(table(descending, "conversions"), "revenue") == ["20.50", "5.00"]
        exported = csv_rows(
            dashboard.get(url(data, "conversions/"), {"sort": "-revenue", "format": "csv"})
        )
        shown = table(descending, "conversions")
        assert exported == [shown["columns"], *[[c[0] for c in row] for row in shown["rows"]]]

    def test_the_date_range_is_in_the_accounts_days(self, dashboard: Client, data: Dataset) -> None:
        assert (
            column(
                table(
                    dashboard.get(url(data, "conversions/"), {"end": "2001-01-01"}), "conversions"
                ),
                "txn_id",
            )
            == []
        )
        start = (timezone.now().date() - dt.timedelta(days=1000)).isoformat()  # end: today
        assert column(
            table(dashboard.get(url(data, "conversions/"), {"start": start}), "conversions"),
            "txn_id",
        ) == ["t-1"]


@pytest.mark.django_db
class TestPostbacks:
    def test_the_log_shows_accepted_and_rejected_postbacks(
        self, dashboard: Client, data: Dataset
    ) -> None:
        log = table(dashboard.get(url(data, "postbacks/"), {"sort": "received_at"}), "postbacks")
        assert column(log, "outcome") == ["accepted", "rejected"]
        assert column(log, "http_status") == ["200", "400"]
        assert "revenue" in column(log, "reason")[1]

    def test_a_hostile_query_is_shown_escaped(self, dashboard: Client, data: Dataset) -> None:
        PostbackLog.objects.create(
            account=data.account.account, endpoint="/conv", method="GET",
            query="txn_id=<img src=x onerror=alert(1)>",
        )  # fmt: skip
        body = dashboard.get(url(data, "postbacks/")).content.decode()
        assert "<img src=x" not in body
        assert "txn_id=&lt;img src=x onerror=alert(1)&gt;" in body

    def test_the_page_and_its_csv_never_show_a_secret_or_token(
        self, dashboard: Client, data: Dataset
    ) -> None:
        offer = Offer(account=data.account.account, name="O", destination_url="https://a.example/")
        secret = offer.rotate_postback_secret()
        offer.save()
        network = Client(HTTP_HOST=data.account.domain.host)
        token = data.account.postback_token
        network.get(f"/conv/offer?offer_id={offer.pk}&secre%74={secret}&revenue=1")
        network.post("/conv/offer", {"offer_id": str(offer.pk), "secret": secret, "txn_id": "m"})
        network.post(
            "/conv/offer",
            f"offer_id={offer.pk}&SECRET={secret}",
            content_type="application/x-www-form-urlencoded",
        )
        network.post("/conv", f'{{"token": "{token}"}}', content_type="application/json")
        network.get(f"/conv?tok%65n={token}&link_id=Abcdefg")
        page = dashboard.get(url(data, "postbacks/")).content.decode()
        exported = b"".join(
            dashboard.get(url(data, "postbacks/"), {"format": "csv"}).streaming_content
        ).decode()
        for shown in (page, exported):
            assert secret not in shown and token not in shown
            assert shown.count("[redacted]") >= 5
        assert "secre%74=[redacted]&revenue=1" in exported


@pytest.mark.django_db
class TestBots:
    def test_it_shows_top_bot_reasons_and_fraud_flags(
        self, dashboard: Client, data: Dataset
    ) -> None:
        response = dashboard.get(url(data, "bots/"))
        reasons = table(response, "reasons")
        assert column(reasons, "reason") == ["ua:http-library:curl"]
        assert column(reasons, "clicks") == ["2"]
        assert column(reasons, "share") == ["1.0000"]
        flags = table(response, "flags")
        assert column(flags, "key") == ["ip:203.0.113.9"]
        assert column(flags, "evidence") == ["contacts: 7, seconds: 60"]

    def test_each_of_its_tables_exports(self, dashboard: Client, data: Dataset) -> None:
        assert csv_rows(dashboard.get(url(data, "bots/"), {"format": "csv"})) == [
            ["reason", "clicks", "share"], ["ua:http-library:curl", "2", "1.0000"],
        ]  # fmt: skip
        flags = csv_rows(dashboard.get(url(data, "bots/"), {"format": "csv", "table": "flags"}))
        assert [row[2] for row in flags] == ["key", "ip:203.0.113.9"]
        bad = dashboard.get(url(data, "bots/"), {"format": "csv", "table": "nope"})
        assert bad.status_code == 400 and b"table" in bad.content

    def test_a_reclassified_click_moves_between_reasons(
        self, dashboard: Client, data: Dataset
    ) -> None:
        MessageShortLinkClick.objects.filter(click_id=data.human_click_id).update(
            is_bot=True, bot_reason="behaviour:ip-fanout"
        )
        rollups_build()
        reasons = table(dashboard.get(url(data, "bots/")), "reasons")
        assert column(reasons, "reason") == ["ua:http-library:curl", "behaviour:ip-fanout"]

    def test_internal_clicks_show_as_internal_on_every_page(
        self, dashboard: Client, data: Dataset
    ) -> None:
        message = data.account.mint(
            contact={"external_id": "qa", "is_test": True},
            body="{{l}}",
            links={"l": {"url": "https://a.example/"}},
        )
        tap(data.account, message)
        rollups_build()
        reasons = table(dashboard.get(url(data, "bots/")), "reasons")
        assert "Internal" in column(reasons, "reason")
        assert "internal" not in column(reasons, "reason")
        clicks = table(dashboard.get(url(data, f"messages/{message['id']}/")), "clicks")
        assert column(clicks, "bot_reason") == ["Internal"]
        assert column(clicks, "counted") == ["false"]
        contact = message["contact"]["id"]
        journey = table(dashboard.get(url(data, f"contacts/{contact}/")), "journey")
        assert column(journey, "bot_reason") == ["", "Internal"]

    def test_its_reasons_are_the_raw_bot_clicks_before_and_after_a_reclassification(
        self, dashboard: Client, owner: Any
    ) -> None:
        clicks = dataset.dataset_build(owner).clicks
        rollups_build()
        bots = f"/dashboard/{owner.account.pk}/bots/"
        # Local days in New York: the whole range, then single days cut at local midnight.
        ranges = [("2026-01-09", "2026-01-12"), ("2026-01-09", "2026-01-09"),
                  ("2026-01-10", "2026-01-10"), ("2026-01-11", "2026-01-11")]  # fmt: skip

        def shown() -> dict[tuple[str, str], list[list[str]]]:
            result = {}
            for start, end in ranges:
                params = {"start": start, "end": end}
                reasons = table(dashboard.get(bots, params), "reasons")
                rows = [[cell[0] for cell in row] for row in reasons["rows"]]
                exported = csv_rows(dashboard.get(bots, {**params, "format": "csv"}))
                assert exported[1:] == rows, (start, end)
                result[start, end] = rows
            return result

        def expected() -> dict[tuple[str, str], list[list[str]]]:
            return {
                (start, end): reference.bot_reasons(
                    owner.account, dt.date.fromisoformat(start), dt.date.fromisoformat(end)
                )
                for start, end in ranges
            }

        before = expected()
        assert before[ranges[0]] == [["ua:test-bot", "3", "1.0000"]]
        assert shown() == before

        def reclassify(name: str, **verdict: Any) -> None:
            MessageShortLinkClick.objects.filter(pk=clicks[name].pk).update(**verdict)

        reclassify("m2-bot", bot_reason="behaviour:ip-fanout")  # a new reason alone
        reclassify("m1-first", is_bot=True, bot_reason="")  # a person turned bot, no reason
        reclassify("m3-bot", is_bot=False, bot_reason="")  # a bot turned person
        rollups_build()
        after = expected()
        assert after[ranges[0]] == [
            ["(none given)", "1", "0.3333"],
            ["behaviour:ip-fanout", "1", "0.3333"],
            ["ua:test-bot", "1", "0.3333"],
        ]
        assert shown() == after


@pytest.mark.django_db
class TestBadInput:
    @pytest.mark.parametrize(
        ("page", "params", "named"),
        [
            ("conversions/", {"start": "yesterday"}, "start"),
            ("conversions/", {"start": "2026-02-01", "end": "2026-01-01"}, "end"),
            ("conversions/", {"sort": "password"}, "sort"),
            ("conversions/", {"page": "0"}, "page"),
            ("conversions/", {"page": "x"}, "page"),
            ("conversions/", {"format": "xlsx"}, "format"),
            ("postbacks/", {"end": "2026-13-01"}, "end"),
            ("bots/", {"flags_sort": "-nope"}, "flags_sort"),
            ("campaigns/", {"sort": "-nope"}, "sort"),
            ("campaigns/", {"start": "2026-1-1"}, "start"),
            ("campaigns/", {"page": "-1"}, "page"),
            ("messages/", {"offer": "1x"}, "offer"),
            ("messages/", {"list": "0"}, "list"),
            ("", {"end": "2026-01-01", "start": "2026-02-01"}, "end"),
            ("", {"format": "json"}, "format"),
        ],
    )
    def test_a_bad_parameter_is_a_400_page_naming_it(
        self, dashboard: Client, data: Dataset, page: str, params: dict, named: str
    ) -> None:
        response = dashboard.get(url(data, page), params)
        assert response.status_code == 400
        assert f"<code>{named}</code>" in response.content.decode()


@pytest.mark.django_db
class TestEscaping:
    def test_names_from_the_api_are_escaped(self, dashboard: Client, data: Dataset) -> None:
        Campaign.objects.filter(name="Spring").update(name='<b onmouseover="x">Spring</b>')
        body = dashboard.get(url(data, f"contacts/{data.contact_id}/")).content.decode()
        assert "<b onmouseover" not in body
        assert "&lt;b onmouseover=&quot;x&quot;&gt;Spring&lt;/b&gt;" in body
