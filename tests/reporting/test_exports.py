"""The one CSV formula rule (reporting/exports.py), as the report API's CSV and every
dashboard table write it."""

from __future__ import annotations

import zoneinfo
from decimal import Decimal

import pytest

from reporting import exports, tables

UTC = zoneinfo.ZoneInfo("UTC")


@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx", "-5"])
def test_a_text_cell_that_starts_a_formula_gets_an_apostrophe(text: str) -> None:
    assert exports.formula_defused(text) == "'" + text


@pytest.mark.parametrize("text", ["Spring", "", "5", "a=b", "'=already"])
def test_other_text_is_written_as_it_is(text: str) -> None:
    assert exports.formula_defused(text) == text


def test_the_report_api_and_the_dashboard_defuse_text_alike() -> None:
    text_column = tables.Column("txn_id", "Transaction")
    for text in ["=HYPERLINK(1)", "-5", "+14155550100", "plain"]:
        assert tables._csv_cell(text_column, UTC)(text) == exports.cell(text, "label")


def test_figures_stay_numbers() -> None:
    assert exports.cell(Decimal("-1.5"), "revenue") == "-1.50"
    money = tables.Column("revenue", "Revenue", "money")
    assert tables._csv_cell(money, UTC)(Decimal("-1.5")) == "-1.50"
