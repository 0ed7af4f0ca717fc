"""GET /api/v1/reports/<dimension>: every figure against the raw rows, before and after late
changes; CSV; who may see what; bad input; query counts."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from attribution.models import Conversion
from core.models import Offer
from links.clicks import click_verdict_set
from links.counting import sending_list_bot_detection_set
from reporting import exports
from reporting.report_params import ReportFilters
from reporting.reports import CLICK_ONLY_REPORTS, DIMENSIONS, TRAIT_REPORTS, daily_series
from tests.reporting.dataset import Dataset, at, convert, dataset_build
from tests.reporting.reference import expected, expected_traits

FIGURES = ("sends", "raw_clicks", "bot_clicks", "unique_clicks", "conversions", "revenue",
           "payout", "view_through_conversions", "view_through_revenue", "view_through_payout",
           "pending_conversions", "pending_revenue", "cost", "profit", "click_rate", "bot_pct",
           "ctcr", "epc", "rpc", "revenue_per_send", "cpa", "roas", "profit_per_send")  # fmt: skip


def build() -> None:
    call_command("build_rollups", stdout=io.StringIO())


def fetch_all(account: Any, dimension: str, **params: Any) -> dict[str, Any]:
    """Every page of a report: (rows by key, totals, count)."""
    rows: dict[Any, dict[str, Any]] = {}
    page, body = 1, None
    while True:
        response = account.get(f"/api/v1/reports/{dimension}", page=page, page_size=2, **params)
        assert response.status_code == 200, response.content
        body = response.json()
        for row in body["results"]:
            assert row["key"] not in rows
            rows[row["key"]] = row
        if body["next"] is None:
            break
        page += 1
    assert body["count"] == len(rows)
    return {"rows": rows, "totals": body["totals"]}


def filter_sets(data: Dataset) -> list[dict[str, Any]]:
    m = data.messages
    return [
        {},
        {"start": dt.date(2026, 1, 10), "end": dt.date(2026, 1, 10)},
        {"start": dt.date(2026, 1, 11)},
        {"end": dt.date(2026, 1, 9)},
        {"campaign": m["m1"].campaign_id},
        {"creative": m["m3"].creative_id},
        {"list": data.lists["Members"].pk},
        {"offer": data.offers["A"].pk},
        {"offer": data.offers["B"].pk, "start": dt.date(2026, 1, 10)},
        {"campaign": m["m2"].campaign_id, "offer": data.offers["B"].pk},
    ]


def assert_reports_match_raw_rows(data: Dataset) -> None:
    account = data.account
    checked = 0
    for filters in filter_sets(data):
        params = {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in filters.items()}
        for dimension in DIMENSIONS:
            if dimension == "variants" and not filters.get("offer"):
                continue  # one offer's report (a 400 without it)
            reference = expected_traits if dimension in TRAIT_REPORTS else expected
            want_rows, want_totals = reference(account.account, dimension, filters)
            got = fetch_all(account, dimension, **params)
            got_rows = {k: {f: r[f] for f in FIGURES} for k, r in got["rows"].items()}
            assert got_rows == want_rows, (dimension, filters)
            assert got["totals"] == want_totals, (dimension, filters)
            checked += 1
    with_offer = sum(1 for f in filter_sets(data) if f.get("offer"))
    assert checked == (len(DIMENSIONS) - 1) * len(filter_sets(data)) + with_offer


@pytest.mark.django_db
def test_every_metric_of_every_dimension_matches_the_raw_rows(owner: Any) -> None:
    data = dataset_build(owner)
    build()
    assert_reports_match_raw_rows(data)

    # Spot-check the reference itself on figures worked out by hand.
    days = fetch_all(owner, "days")["rows"]
    assert (days["2026-01-09"]["sends"], days["2026-01-09"]["raw_clicks"]) == (1, 2)
    assert days["2026-01-09"]["unique_clicks"] == 1 and days["2026-01-09"]["bot_pct"] == "0.5000"
    totals = fetch_all(owner, "campaigns")["totals"]
    assert totals["sends"] == 5 and totals["raw_clicks"] == 9 and totals["bot_clicks"] == 3
    assert totals["unique_clicks"] == 4  # m1, m2 (its first person), m3 (the bot: list off), m4
    assert (totals["conversions"], totals["revenue"]) == (3, "38.50")
    assert (totals["view_through_conversions"], totals["view_through_revenue"]) == (1, "7.25")
    assert totals["click_rate"] == "0.8000"
    # Payout per unique click (t2 pays 20.40 of its 25.50); rpc is revenue per click.
    assert (totals["payout"], totals["epc"], totals["rpc"]) == ("33.40", "8.3500", "9.6250")
    # t6 awaits approval (t9 too, but view-through); t7 rejected and t8 reversed: nowhere.
    assert (totals["pending_conversions"], totals["pending_revenue"]) == (1, "80.00")
    money = (totals["view_through_payout"], totals["cost"], totals["profit"])
    assert money == ("7.25", "2.51", "30.89")
    ratios = (totals["cpa"], totals["roas"], totals["profit_per_send"])
    assert ratios == ("0.8360", "15.3515", "6.1784")
    offers = fetch_all(owner, "offers")["rows"]
    a, b = data.offers["A"].pk, data.offers["B"].pk
    assert (offers[a]["sends"], offers[b]["sends"], offers[None]["sends"]) == (3, 2, 1)
    # A message costs what it cost for each offer it carries (m2 for both).
    assert (offers[a]["cost"], offers[b]["cost"], offers[None]["cost"]) == ("2.50", "0.76", "0.00")
    assert offers[a]["label"] == "Offer A" and offers[None]["label"] == "No offer"
    campaigns = fetch_all(owner, "campaigns")["rows"]
    assert campaigns[data.messages["m1"].campaign_id]["label"] == "Spring"
    assert campaigns[None]["ctcr"] == "1.0000"  # m4: one click, one conversion

    # A bot reclassification: m1's first human click was a scanner after all. The next
    # click (after local midnight) becomes the counted one, and the conversion follows it.
    click_verdict_set(data.clicks["m1-first"], is_bot=True, reason="behaviour:ip-fanout")
    # A late conversion, on a day already built, and the list's bot detection switched on
    # (m3's counted click moves from the bot to the person).
    convert(owner, data.messages["m3"], data.offers["B"], at("2026-01-11 13:05"), "40", "late")
    sending_list_bot_detection_set(list_id=data.lists["Open"].pk, enabled=True)
    build()
    assert_reports_match_raw_rows(data)

    days = fetch_all(owner, "days")["rows"]
    assert days["2026-01-09"]["unique_clicks"] == 0 and days["2026-01-09"]["bot_clicks"] == 2
    assert days["2026-01-09"]["click_rate"] == "0.0000" and days["2026-01-09"]["ctcr"] is None
    assert days["2026-01-11"]["revenue"] == "43.00"
    late = Conversion.objects.get(txn_id="late")
    assert late.attribution_type == "direct" and late.raw_click_id == data.clicks["m3-person"].pk


@pytest.mark.django_db
def test_the_daily_series_has_every_day_of_the_range(owner: Any) -> None:
    data = dataset_build(owner)
    build()
    series = daily_series(
        owner.account, ReportFilters(start=dt.date(2026, 1, 8), end=dt.date(2026, 1, 13))
    )
    want, _ = expected(owner.account, "days", {})
    assert [r["day"] for r in series] == [dt.date(2026, 1, d) for d in range(8, 14)]
    for row in series:
        figures = want.get(row["day"].isoformat())
        assert row["sends"] == (figures["sends"] if figures else 0)
        assert row["unique_clicks"] == (figures["unique_clicks"] if figures else 0)
        assert row["conversions"] == (figures["conversions"] if figures else 0)
        assert f"{row['revenue']:.2f}" == (figures["revenue"] if figures else "0.00")
    offer_b = daily_series(owner.account, ReportFilters(offer=data.offers["B"].pk))
    assert [r["day"] for r in offer_b] == [dt.date(2026, 1, 10), dt.date(2026, 1, 11)]


@pytest.mark.django_db
@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_csv_has_the_same_rows_and_columns_as_json(owner: Any, dimension: str) -> None:
    data = dataset_build(owner)
    build()
    params = {"start": "2026-01-09"}
    if dimension == "variants":
        params["offer"] = data.offers["A"].pk
    body = owner.get(f"/api/v1/reports/{dimension}", **params).json()
    response = owner.get(f"/api/v1/reports/{dimension}", format="csv", **params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="' in response["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, *rows, total = lines
    assert header == list(body["results"][0].keys())

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    assert rows == [[text(r[c]) for c in header] for r in body["results"]]
    assert total[:2] == ["total", "Total"]
    assert total[-len(FIGURES) :] == [text(body["totals"][f]) for f in FIGURES]


def holdable_cursors() -> list[bool]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT is_holdable FROM pg_cursors")
        return [holdable for (holdable,) in cursor.fetchall()]


@pytest.mark.django_db(transaction=True)
def test_the_messages_csv_reads_its_rows_as_it_sends_them(owner: Any, monkeypatch: Any) -> None:
    dataset_build(owner)
    build()
    whole = b"".join(owner.get("/api/v1/reports/messages", format="csv").streaming_content)
    monkeypatch.setattr(exports, "CHUNK_CHARS", 1)  # a chunk a line
    chunks = iter(owner.get("/api/v1/reports/messages", format="csv").streaming_content)
    sent = [next(chunks), next(chunks)]  # the header and the first row
    # One open cursor, not holdable: a holdable one (WITH HOLD, as Django declares it
    # outside a transaction) runs the whole query before the first row comes back.
    assert holdable_cursors() == [False]
    # ... and a stalled client cannot hold that read transaction open for ever.
    with connection.cursor() as cursor:
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        assert cursor.fetchone()[0] == "1min"
    assert b"".join([*sent, *chunks]) == whole
    assert holdable_cursors() == []
    with connection.cursor() as cursor:  # SET LOCAL: gone with the export's transaction
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        assert cursor.fetchone()[0] == "0"


@pytest.mark.django_db
def test_a_name_that_looks_like_a_formula_is_defused_in_csv(owner: Any) -> None:
    owner.mint(body="https://a.example/", campaign="=HYPERLINK(1)")
    build()
    response = owner.get("/api/v1/reports/campaigns", format="csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][1] == "'=HYPERLINK(1)"


@pytest.mark.django_db
def test_an_outsider_sees_none_of_the_figures(owner: Any, outsider: Any) -> None:
    data = dataset_build(owner)
    build()
    for dimension in DIMENSIONS:
        if dimension == "variants":
            continue  # one offer's: the outsider has none (below: the owner's is a 404)
        body = outsider.get(f"/api/v1/reports/{dimension}").json()
        assert body["count"] == 0 and body["results"] == []
        no_sends = None if dimension in CLICK_ONLY_REPORTS else 0
        assert body["totals"]["sends"] == no_sends and body["totals"]["click_rate"] is None
    for param, value in [
        ("campaign", data.messages["m1"].campaign_id),
        ("creative", data.messages["m1"].creative_id),
        ("offer", data.offers["A"].pk),
        ("list", data.lists["Members"].pk),
    ]:
        for dimension in ("days", "countries"):
            response = outsider.get(f"/api/v1/reports/{dimension}", **{param: value})
            assert response.status_code == 404, param
            assert list(response.json()["errors"]) == [param]
        response = outsider.get("/api/v1/reports/variants", offer=data.offers["A"].pk)
        assert response.status_code == 404
        assert list(response.json()["errors"]) == ["offer"]
        response = outsider.get("/api/v1/reports/days", **{param: value})
        assert response.status_code == 404, param
        assert list(response.json()["errors"]) == [param]
        assert (
            outsider.get("/api/v1/reports/days", format="csv", **{param: value}).status_code == 404
        )
    assert (
        owner.get("/api/v1/reports/days", campaign=data.messages["m1"].campaign_id).json()["count"]
        == 2
    )


@pytest.mark.django_db
def test_a_report_needs_an_api_key(owner: Any) -> None:
    from rest_framework.test import APIClient

    anonymous = APIClient(HTTP_HOST="localhost")
    assert anonymous.get("/api/v1/reports/days").status_code == 401
    assert anonymous.get("/api/v1/reports/days", {"format": "csv"}).status_code == 401


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"start": "yesterday"}, "start"),
        ({"end": "2026-13-01"}, "end"),
        ({"start": "2026-01-05", "end": "2026-01-04"}, "end"),
        ({"campaign": "abc"}, "campaign"),
        ({"creative": "-1"}, "creative"),
        ({"offer": "0"}, "offer"),
        ({"list": "99999999999999999999"}, "list"),
        ({"page": "0"}, "page"),
        ({"page_size": "100000"}, "page_size"),
        ({"order": "password"}, "order"),
        ({"format": "xml"}, "format"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(owner: Any, params: dict, param: str) -> None:
    response = owner.get("/api/v1/reports/campaigns", **params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [param]


@pytest.mark.django_db
def test_an_unknown_report_is_a_404(owner: Any) -> None:
    response = owner.get("/api/v1/reports/passwords")
    assert response.status_code == 404
    assert "campaigns" in response.json()["detail"]


@pytest.mark.django_db
def test_rows_sort_on_any_column_with_empty_ratios_last(owner: Any) -> None:
    dataset_build(owner)
    build()
    offer = {"offer": Offer.objects.get(name="Offer A").pk}
    for dimension in DIMENSIONS:
        for order in ("revenue", "-revenue", "ctcr", "-ctcr", "-label"):
            params = offer if dimension == "variants" else {}
            rows = owner.get(f"/api/v1/reports/{dimension}", order=order, **params).json()[
                "results"
            ]
            column = order.removeprefix("-")
            values = [r[column] for r in rows if r[column] is not None]
            as_numbers = [v if column == "label" else float(v) for v in values]
            assert as_numbers == sorted(as_numbers, reverse=order.startswith("-")), (
                dimension,
                order,
            )
            nones = [r[column] is None for r in rows]
            assert nones == sorted(nones), (dimension, order)  # empty ones at the end


@pytest.mark.django_db
def test_pages_link_to_each_other(owner: Any) -> None:
    dataset_build(owner)
    build()
    first = owner.get("/api/v1/reports/messages", page_size=2).json()
    assert first["count"] == 5 and len(first["results"]) == 2 and first["previous"] is None
    assert "page=2" in first["next"]
    last = owner.get("/api/v1/reports/messages", page_size=2, page=3).json()
    assert len(last["results"]) == 1 and last["next"] is None and "page=2" in last["previous"]
    newest_first = [r["sent_at"] for r in first["results"]]
    assert newest_first == sorted(newest_first, reverse=True)
    oldest = owner.get("/api/v1/reports/messages", order="sent_at").json()["results"]
    assert [r["label"] for r in oldest] == ["m1", "m2", "m3", "m4", "m5"]
    assert owner.get("/api/v1/reports/campaigns", order="sent_at").status_code == 400


@pytest.mark.django_db
@pytest.mark.parametrize("dimension", DIMENSIONS)
def test_a_report_takes_a_handful_of_queries(
    owner: Any, dimension: str, django_assert_max_num_queries: Any
) -> None:
    data = dataset_build(owner)
    build()
    params = {
        "start": "2026-01-01", "end": "2026-01-31", "campaign": data.messages["m1"].campaign_id,
        "creative": data.messages["m1"].creative_id, "offer": data.offers["A"].pk,
        "list": data.lists["Members"].pk, "order": "-revenue",
    }  # fmt: skip
    # Key lookup and its last-used stamp, four filter checks, the rows, the totals.
    with django_assert_max_num_queries(8):
        assert owner.get(f"/api/v1/reports/{dimension}", **params).status_code == 200
    # The export: the same, and the messages export's idle limit for its read transaction.
    with django_assert_max_num_queries(10 if dimension == "messages" else 9):
        response = owner.get(f"/api/v1/reports/{dimension}", format="csv", **params)
        assert response.status_code == 200
        b"".join(response.streaming_content)
