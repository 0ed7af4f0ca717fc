"""GET /api/v1/reports/devices, /os, /countries and /variants?offer=: every figure against
the raw rows (each click on its own traits, a conversion on its credited click's), the
per-send figures null where a row is a device or a place, filters, CSV, bad input and
isolation; the dashboard pages that chart them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from attribution.bot_checks import clicks_judge_pending
from links.click_writer import ClickConsumer
from links.models import MessageShortLink, MessageShortLinkClick
from tests.helpers import tap
from tests.reporting.dataset import Dataset, dataset_build
from tests.reporting.test_reports import assert_reports_match_raw_rows, build, fetch_all

# click -> (device, os, country, variant); clicks not named keep what clicks stored before
# issue 17 have: other, "", NULL, "".
TRAITS = {
    "m1-scan": ("desktop", "Linux", "US", ""),
    "m1-first": ("mobile", "iOS", "US", "a"),
    "m1-again": ("mobile", "iOS", "GB", "a"),
    "m2-b": ("tablet", "Android", "DE", ""),
    "m2-a": ("desktop", "Windows", "US", "b"),
    "m3-bot": ("mobile", "Android", None, ""),
    "m3-person": ("mobile", "Android", "FR", ""),
}
LINK_VARIANTS = {"m1": "a", "m2": "b", "m5": "a"}  # each message's link "a"


def traits_set(data: Dataset) -> None:
    # Every click as stored before issue 17 (the write paths now classify each click),
    # then the named ones given their traits.
    MessageShortLinkClick.objects.filter(account=data.account.account).update(
        device="other", os="", browser="", country=None, network="", variant=""
    )
    for name, (device, os, country, variant) in TRAITS.items():
        MessageShortLinkClick.objects.filter(pk=data.clicks[name].pk).update(
            device=device, os=os, country=country, variant=variant
        )
    for message, variant in LINK_VARIANTS.items():
        MessageShortLink.objects.filter(pk=data.link(message).pk).update(variant=variant)


@pytest.fixture
def traited(owner: Any) -> Dataset:
    """The reporting dataset, built once before its clicks had traits (as clicks stored
    before issue 17), then given traits: the triggers must mark what changed."""
    data = dataset_build(owner)
    MessageShortLinkClick.objects.filter(account=data.account.account).update(
        device="other", os="", browser="", country=None, network="", variant=""
    )
    build()
    traits_set(data)
    build()
    return data


@pytest.mark.django_db
def test_every_trait_report_matches_the_raw_rows(traited: Dataset) -> None:
    assert_reports_match_raw_rows(traited)

    # The reference checked against figures worked out by hand.
    owner = traited.account
    devices = fetch_all(owner, "devices")
    rows = devices["rows"]
    assert set(rows) == {"mobile", "tablet", "desktop", "other"}
    assert rows["mobile"]["label"] == "Mobile"
    # m1's sale follows its counted click (m1-first, a phone); m2's its click on offer B (a
    # tablet); m4's its old click (other), as does m5's view-through sale (no click).
    assert (rows["mobile"]["conversions"], rows["mobile"]["revenue"]) == (1, "10.00")
    assert (rows["tablet"]["conversions"], rows["tablet"]["revenue"]) == (1, "25.50")
    assert (rows["other"]["conversions"], rows["other"]["revenue"]) == (1, "3.00")
    assert rows["other"]["view_through_revenue"] == "7.25"
    assert rows["other"]["raw_clicks"] == 2 and rows["other"]["bot_clicks"] == 1  # m2-bot, m4
    assert rows["mobile"]["epc"] == "5.0000" and rows["mobile"]["ctcr"] == "0.5000"
    for row in [*rows.values(), devices["totals"]]:
        assert row["sends"] is None and row["click_rate"] is None
        assert row["revenue_per_send"] is None
    assert devices["totals"]["raw_clicks"] == 9 and devices["totals"]["revenue"] == "38.50"

    countries = fetch_all(owner, "countries")["rows"]
    assert set(countries) == {"US", "GB", "DE", "FR", None}
    assert countries[None]["label"] == "Unknown country"
    assert countries[None]["raw_clicks"] == 3  # m2-bot and m4 (old), m3-bot (no place)
    assert countries["DE"]["revenue"] == "25.50" and countries["US"]["revenue"] == "10.00"
    os = fetch_all(owner, "os")["rows"]
    assert os["Android"]["raw_clicks"] == 3 and os[None]["label"] == "Unknown OS"

    a = traited.offers["A"].pk
    variants = fetch_all(owner, "variants", offer=a)
    rows = variants["rows"]
    # Offer A's links: m1 (a), m2's link a (b), m5 (a). m2's person was sent to b; m1's
    # scanner and m2's bot to no variant, where m5's view-through sale (no click) falls too.
    assert set(rows) == {"a", "b", None}
    assert (rows[None]["sends"], rows[None]["raw_clicks"]) == (0, 2)
    assert rows[None]["view_through_revenue"] == "7.25" and rows[None]["click_rate"] is None
    assert (rows["a"]["sends"], rows["b"]["sends"]) == (2, 1)
    assert rows["a"]["unique_clicks"] == 1 and rows["a"]["click_rate"] == "0.5000"
    assert rows["a"]["revenue_per_send"] == "5.0000"  # m1's 10.00 over two sends
    assert rows["a"]["view_through_revenue"] == "0.00"
    assert variants["totals"]["sends"] == 3 and variants["totals"]["click_rate"] is not None
    b = fetch_all(owner, "variants", offer=traited.offers["B"].pk)["rows"]
    assert set(b) == {None} and b[None]["label"] == "No variant" and b[None]["sends"] == 2


@pytest.mark.django_db
def test_a_changed_trait_moves_its_figures_at_the_next_build(traited: Dataset) -> None:
    owner = traited.account
    # m2's counted click on offer B turns out to be from Austria: its sale goes with it.
    MessageShortLinkClick.objects.filter(pk=traited.clicks["m2-b"].pk).update(country="AT")
    build()
    countries = fetch_all(owner, "countries")["rows"]
    assert "DE" not in countries and countries["AT"]["revenue"] == "25.50"
    assert_reports_match_raw_rows(traited)


@pytest.mark.django_db
def test_clicks_stored_before_traits_count_as_other_and_unknown(owner: Any) -> None:
    data = dataset_build(owner)
    # Every click as one stored before issue 17: the columns' database defaults.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE links_messageshortlinkclick SET device = DEFAULT, os = DEFAULT, "
            "browser = DEFAULT, country = DEFAULT, network = DEFAULT, variant = DEFAULT "
            "WHERE account_id = %s",
            [owner.account.pk],
        )
    build()
    devices = fetch_all(owner, "devices")["rows"]
    assert list(devices) == ["other"] and devices["other"]["raw_clicks"] == 9
    assert list(fetch_all(owner, "countries")["rows"]) == [None]
    assert list(fetch_all(owner, "os")["rows"]) == [None]
    variants = fetch_all(owner, "variants", offer=data.offers["A"].pk)["rows"]
    assert list(variants) == [None] and variants[None]["sends"] == 3


@pytest.mark.django_db
def test_the_variants_report_needs_an_offer_of_the_account(traited: Dataset, outsider: Any) -> None:
    owner = traited.account
    for params in ({}, {"format": "csv"}, {"offer": ""}):
        response = owner.get("/api/v1/reports/variants", **params)
        assert response.status_code == 400, params
        assert list(response.json()["errors"]) == ["offer"]
    response = outsider.get("/api/v1/reports/variants", offer=traited.offers["A"].pk)
    assert response.status_code == 404 and list(response.json()["errors"]) == ["offer"]
    assert owner.get("/api/v1/reports/variants", offer="x").status_code == 400
    for dimension in ("devices", "os", "countries"):
        body = outsider.get(f"/api/v1/reports/{dimension}").json()
        assert body["count"] == 0 and body["totals"]["raw_clicks"] == 0
        response = outsider.get(f"/api/v1/reports/{dimension}", list=traited.lists["Open"].pk)
        assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("dimension", ["devices", "os", "countries", "variants"])
def test_the_csv_has_the_json_rows_with_empty_per_send_cells(
    traited: Dataset, dimension: str
) -> None:
    owner = traited.account
    params = {"offer": traited.offers["A"].pk} if dimension == "variants" else {}
    body = owner.get(f"/api/v1/reports/{dimension}", **params).json()
    response = owner.get(f"/api/v1/reports/{dimension}", format="csv", **params)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    header, *rows, total = csv.reader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert header == list(body["results"][0])
    text = {None: ""}
    assert rows == [[text.get(r[c], str(r[c])) for c in header] for r in body["results"]]
    sends = header.index("sends")
    if dimension == "variants":
        assert all(row[sends] for row in [*rows, total])
    else:
        assert all(row[sends] == "" for row in [*rows, total])
        assert total[header.index("raw_clicks")] == "9"


@pytest.mark.django_db
@pytest.mark.parametrize("dimension", ["devices", "os", "countries", "variants"])
def test_a_trait_report_takes_a_handful_of_queries(
    traited: Dataset, dimension: str, django_assert_max_num_queries: Any
) -> None:
    m1 = traited.messages["m1"]
    params = {
        "start": "2026-01-01", "end": "2026-01-31", "campaign": m1.campaign_id,
        "creative": m1.creative_id, "offer": traited.offers["A"].pk,
        "list": traited.lists["Members"].pk, "order": "-unique_clicks",
    }  # fmt: skip
    with django_assert_max_num_queries(8):
        response = traited.account.get(f"/api/v1/reports/{dimension}", **params)
        assert response.status_code == 200 and response.json()["count"] >= 1
    with django_assert_max_num_queries(9):
        response = traited.account.get(f"/api/v1/reports/{dimension}", format="csv", **params)
        assert len(b"".join(response.streaming_content).splitlines()) >= 3


# --- the dashboard pages -------------------------------------------------------------------


def chart_of(body: str) -> list[dict[str, Any]]:
    found = re.search(r'<script id="trait-chart" type="application/json">(.*?)</script>', body)
    assert found, "the page embeds its chart's figures"
    return json.loads(found.group(1))


@pytest.mark.django_db
def test_the_trait_pages_chart_the_report(
    traited: Dataset, dashboard: Client, django_assert_max_num_queries: Any
) -> None:
    base = f"/dashboard/{traited.account.account.pk}"
    dates = {"start": "2026-01-01", "end": "2026-01-31"}
    for path, key in (("devices/", "tablet"), ("os/", "Android"), ("countries/", "DE")):
        with django_assert_max_num_queries(9):
            response = dashboard.get(f"{base}/{path}", dates)
        assert response.status_code == 200, path
        body = response.content.decode()
        chart = {point["label"]: point for point in chart_of(body)}
        api = fetch_all(traited.account, path.rstrip("/"), **dates)["rows"]
        label = api[key]["label"]
        assert chart[label]["unique_clicks"] == api[key]["unique_clicks"]
        assert chart[label]["conversions"] == api[key]["conversions"]
        assert 'href="' + base + "/" + path + '"' in body  # in the navigation
        assert "chart.umd.min.js" in body
        assert 'data-column="sends"' not in body  # a send has no device: no such column
        with django_assert_max_num_queries(9):
            export = dashboard.get(f"{base}/{path}", {**dates, "format": "csv", "table": path[:-1]})
        assert export.status_code == 200
        lines = b"".join(export.streaming_content).decode().splitlines()
        assert len(lines) == len(api) + 2  # header, rows, total


@pytest.mark.django_db
def test_the_variants_page_picks_an_offer(
    traited: Dataset, dashboard: Client, django_assert_max_num_queries: Any
) -> None:
    base = f"/dashboard/{traited.account.account.pk}/variants/"
    picker = dashboard.get(base)
    assert picker.status_code == 200
    body = picker.content.decode()
    assert 'name="offer"' in body and "Offer A" in body and "trait-chart" not in body
    a = traited.offers["A"].pk
    with django_assert_max_num_queries(10):
        response = dashboard.get(base, {"offer": a, "start": "2026-01-01", "end": "2026-01-31"})
    assert response.status_code == 200
    chart = {point["label"]: point for point in chart_of(response.content.decode())}
    assert chart["a"]["sends"] == 2 and chart["b"]["sends"] == 1
    assert f'<option value="{a}" selected>' in response.content.decode()
    assert dashboard.get(base, {"offer": "x"}).status_code == 400


@pytest.mark.django_db
def test_the_trait_pages_escape_what_clicks_bring(owner: Any, dashboard: Client) -> None:
    data = dataset_build(owner)
    evil = "<script>alert(1)</script>"
    MessageShortLinkClick.objects.filter(pk=data.clicks["m2-a"].pk).update(
        os=evil[:40], variant=evil
    )
    build()
    base = f"/dashboard/{owner.account.pk}"
    dates = {"start": "2026-01-01", "end": "2026-01-31"}
    for path, params in (("os/", {}), ("variants/", {"offer": data.offers["A"].pk})):
        body = dashboard.get(f"{base}/{path}", {**dates, **params}).content.decode()
        assert evil not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
        assert "\\u003Cscript\\u003E" in body  # json_script escapes it in the chart's data


@pytest.mark.django_db
def test_the_trait_pages_are_the_accounts_own(traited: Dataset, outsider: Any) -> None:
    from tests.reporting.conftest import logged_in, member

    stranger = logged_in(member(outsider, "stranger"))
    for path in ("devices/", "os/", "countries/", "variants/"):
        response = stranger.get(f"/dashboard/{traited.account.account.pk}/{path}")
        assert response.status_code == 404, path
    own = f"/dashboard/{outsider.account.pk}/variants/"
    response = stranger.get(own, {"offer": traited.offers["A"].pk})
    assert response.status_code == 404  # another account's offer


IPHONE_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
DESKTOP_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)


@pytest.mark.django_db
@pytest.mark.parametrize("pipeline", [True, False], ids=["click pipeline", "direct write"])
def test_a_comcast_tap_counts_as_us_and_a_british_one_as_gb(
    owner: Any, pipeline: bool, request: Any
) -> None:
    """End to end, no trait set by hand: taps through the real redirect (the click pipeline
    and its consumer, or the direct write whose place the judge completes), the judge,
    the rollups, the countries and devices reports."""
    stream = request.getfixturevalue("click_stream") if pipeline else None
    an_hour_ago = (timezone.now() - dt.timedelta(hours=1)).isoformat()  # no delivery scan
    taps = {"73.0.0.1": IPHONE_AGENT, "81.2.69.160": DESKTOP_AGENT}
    for ip, agent in taps.items():
        message = owner.mint(
            body="{{l}}", links={"l": {"url": "https://shop.example/p"}}, sent_at=an_hour_ago
        )
        tap(owner, message["links"][0]["link_id"], agent, ip=ip)
    if stream is not None:
        ClickConsumer(stream).drain()
    assert clicks_judge_pending() == 2
    build()

    countries = fetch_all(owner, "countries")["rows"]
    assert set(countries) == {"US", "GB"}
    assert countries["US"]["unique_clicks"] == countries["GB"]["unique_clicks"] == 1
    devices = fetch_all(owner, "devices")["rows"]
    assert devices["mobile"]["unique_clicks"] == devices["desktop"]["unique_clicks"] == 1
    assert devices["mobile"]["sends"] is None  # a send has no device
