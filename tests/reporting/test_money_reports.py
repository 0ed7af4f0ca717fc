"""The report figures follow what happens to conversions' money and messages' costs:
approvals changed, amounts lowered (attribution.adjustments, the one way they change) and
costs corrected, both before the rollups are first built and after: every report equals
the computation from the raw rows (tests.reporting.reference) after each build."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from attribution.adjustments import Change, Origin, conversion_adjust, conversions_adjust
from attribution.models import Conversion
from core.models import Message
from reporting import metrics
from reporting.models import DirtyHour, DirtyMessage
from tests.reporting.dataset import dataset_build
from tests.reporting.test_reports import assert_reports_match_raw_rows, build, fetch_all


def pk(txn_id: str) -> int:
    return Conversion.objects.get(txn_id=txn_id).pk


@pytest.mark.django_db
def test_approval_changes_lowered_amounts_and_costs_before_and_after_builds(owner: Any) -> None:
    data = dataset_build(owner)
    origin = Origin(source="api", reason="network's monthly statement", actor="test")
    # Before any build: t6 approved, t1 partly refunded, t7 reversed (was rejected).
    made = conversions_adjust(
        [
            (pk("t6"), Change(approval="approved")),
            (pk("t1"), Change(revenue=Decimal("8.00"), payout=Decimal("6.00"))),
            (pk("t7"), Change(approval="reversed")),
        ],
        origin,
    )
    assert len(made) == 3
    build()
    assert_reports_match_raw_rows(data)
    totals = fetch_all(owner, "campaigns")["totals"]
    # t1 8.00/6.00, t2 25.50/20.40, t4 3/3, t6 80/12.
    assert (totals["conversions"], totals["revenue"], totals["payout"]) == (4, "116.50", "41.40")
    assert (totals["pending_conversions"], totals["pending_revenue"]) == (0, "0.00")

    # After the build: t2 reversed, t6 back to pending, t8 approved with a lowered payout,
    # t9 (view-through) approved, and m1's cost corrected.
    conversion_adjust(pk("t2"), Change(approval="reversed"), origin)
    conversions_adjust(
        [
            (pk("t6"), Change(approval="pending")),
            (pk("t8"), Change(approval="approved", payout=Decimal("2.50"))),
            (pk("t9"), Change(approval="approved")),
        ],
        origin,
    )
    Message.objects.filter(pk=data.messages["m1"].pk).update(cost=Decimal("0.1000"))
    # The triggers marked only what changed (no every-day marker).
    assert DirtyHour.objects.exists() and not DirtyHour.objects.filter(hour=None).exists()
    assert data.messages["m1"].pk in DirtyMessage.marked()
    build()
    assert_reports_match_raw_rows(data)
    totals = fetch_all(owner, "campaigns")["totals"]
    assert (totals["pending_conversions"], totals["pending_revenue"]) == (1, "80.00")
    # t1 8/6, t4 3/3, t8 20/2.50 (m3's counted click credits it).
    assert (totals["conversions"], totals["revenue"], totals["payout"]) == (3, "31.00", "11.50")
    assert (totals["view_through_conversions"], totals["view_through_payout"]) == (2, "11.25")
    assert totals["cost"] == "2.11" and totals["profit"] == "9.39"  # 11.50 - 2.1079

    # A change that changes nothing marks nothing and moves nothing.
    DirtyHour.objects.all().delete()
    assert conversion_adjust(pk("t1"), Change(payout=Decimal("6.00")), origin) is None
    assert not DirtyHour.objects.exists()


@pytest.mark.django_db
def test_cost_is_null_on_the_click_trait_reports_and_per_variant_on_variants(owner: Any) -> None:
    data = dataset_build(owner)
    build()
    cost_figures = ("cost", "profit", "cpa", "roas", "profit_per_send")
    for dimension in ("devices", "os", "countries"):
        report = fetch_all(owner, dimension)
        assert report["rows"] and all(
            r[f] is None for r in report["rows"].values() for f in cost_figures
        )
        assert all(report["totals"][f] is None for f in cost_figures)
        assert report["totals"]["payout"] == "33.40"  # payout is a click's: it stays
    variants = fetch_all(owner, "variants", offer=data.offers["A"].pk)
    # No variants in this dataset: offer A's messages (m1, m2, m5) all under "no variant".
    assert variants["rows"][None]["cost"] == "2.50"
    assert variants["totals"]["cost"] == "2.50"


@pytest.mark.django_db
@pytest.mark.parametrize("dimension", ["messages", "offers", "days"])
def test_every_figure_sorts_either_way_with_empty_ones_last(owner: Any, dimension: str) -> None:
    """The messages report sorts in SQL (reporting.reports._message_sort, from metrics'
    RATIOS and DIFFERENCES): each new figure, money or ratio, in the rows' own order."""
    dataset_build(owner)
    build()
    for column in metrics.COLUMNS:
        for descending in (False, True):
            order = f"-{column}" if descending else column
            response = owner.get(f"/api/v1/reports/{dimension}", order=order)
            assert response.status_code == 200, (column, response.content)
            rows = response.json()["results"]
            values = [Decimal(str(r[column])) for r in rows if r[column] is not None]
            assert values == sorted(values, reverse=descending), (dimension, order)
            nones = [r[column] is None for r in rows]
            assert nones == sorted(nones), (dimension, order)


@pytest.mark.django_db
def test_a_message_shows_its_payout_and_cost(owner: Any, dashboard: Any) -> None:
    data = dataset_build(owner)
    m2 = data.messages["m2"]
    body = owner.get(f"/api/v1/messages/{m2.pk}").json()
    # t2 (approved, 25.50 paying 20.40); t6 awaits approval: not in the summary.
    assert (body["conversions"], body["revenue"], body["payout"]) == (1, "25.50", "20.40")
    assert body["cost"] == "0.7500"  # to four places, as the mint answered
    page = dashboard.get(f"/dashboard/{owner.account.pk}/messages/{m2.pk}/").content.decode()
    assert '<dd data-fact="payout">20.40</dd>' in page
    assert '<dd data-fact="cost">0.7500</dd>' in page
