"""Reports as CSV: the same columns and the same figures as the JSON, streamed."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

from reporting.metrics import present
from reporting.selectors import ReportFilters, report, report_rows
from trackly.models import Account

# A cell starting with one of these is a formula to a spreadsheet (CSV injection): names
# come from the API's users, so such text gets a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TEXT_COLUMNS = ("label",)


class _Echo:
    def write(self, value: str) -> str:
        return value


def cell(value: Any, column: str) -> str:
    value = present(value, column)
    if value is None:
        return ""
    text = str(value)
    if column in _TEXT_COLUMNS and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_lines(
    columns: list[str], rows: Iterable[dict[str, Any]], totals: dict[str, Any] | None
) -> Iterator[str]:
    """A header, one line per row and, when given, a last line with the totals
    (key "total", label "Total")."""
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([cell(row.get(c), c) for c in columns])
    if totals is not None:
        totals = {**totals, "key": "total", "label": "Total"}
        yield writer.writerow([cell(totals.get(c), c) for c in columns])


def report_csv_response(
    account: Account, dimension: str, filters: ReportFilters, *, order: str | None = None
) -> StreamingHttpResponse:
    """Every row of the report (no paging) and the totals. Raises ReportParamError."""
    if dimension == "messages":
        summary = report(account, dimension, filters, order=order, page=1, page_size=1)
        rows: Iterable[dict[str, Any]] = report_rows(account, dimension, filters, order=order)
    else:
        summary = report(account, dimension, filters, order=order)
        rows = summary.rows
    lines = csv_lines(summary.columns, rows, summary.totals)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    span = "-".join(d.isoformat() for d in (filters.start, filters.end) if d)
    response["Content-Disposition"] = (
        f'attachment; filename="{dimension}{"-" + span if span else ""}.csv"'
    )
    return response
