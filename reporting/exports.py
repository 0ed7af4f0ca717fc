"""CSV, written one way for the report API and every dashboard table: the one rule that
defuses formulas, the streamed response, and the report API's CSV (the same columns and
figures as its JSON).

The formula rule (docs/reports.md, docs/security.md): a text cell starting with `=`, `+`,
`-`, `@`, a tab or a carriage return is run as a formula by spreadsheets (CSV injection);
names, user agents and postback queries come from outside, so such a cell gets a leading
apostrophe. Figures, ids, dates and flags are written by their column as numbers, never
as text, so they stay numbers.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

from core.models import Account

# The rule lives in core.spreadsheet (every app's CSV writes it one way); re-exported here.
from core.spreadsheet import FORMULA_START as FORMULA_START
from core.spreadsheet import formula_defused as formula_defused
from reporting.metrics import COLUMNS, present
from reporting.reports import ReportFilters, report_columns, report_export

CHUNK_CHARS = 64 * 1024


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    """The header, then one line per row of cells (already text)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow(row)


def chunked(lines: Iterable[str]) -> Iterator[str]:
    """The first line (the header) alone, so that the answer starts before any row is
    read; then about CHUNK_CHARS at a time: the server writes to the socket once a chunk,
    not once a row."""
    lines = iter(lines)
    yield from itertools.islice(lines, 1)
    buffer: list[str] = []
    size = 0
    for line in lines:
        buffer.append(line)
        size += len(line)
        if size >= CHUNK_CHARS:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


def csv_response(filename: str, lines: Iterable[str]) -> StreamingHttpResponse:
    """Streamed, so an export of every message of a busy account never sits in memory."""
    response = StreamingHttpResponse(chunked(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- the report API's CSV ---------------------------------------------------------------


def cell(value: Any, column: str) -> str:
    """One cell of a report: a figure as the JSON shows it, other text defused."""
    value = present(value, column)
    if value is None:
        return ""
    if isinstance(value, str) and column not in COLUMNS:
        return formula_defused(value)
    return str(value)


def report_lines(
    columns: list[str],
    rows: Iterable[dict[str, Any]],
    totals: Callable[[], dict[str, Any]] | None,
) -> Iterator[str]:
    """A header, one line per row and, when given, a last line with the totals
    (key "total", label "Total"). `totals` is called once the rows are out."""

    def cells() -> Iterator[list[str]]:
        for row in rows:
            yield [cell(row.get(c), c) for c in columns]
        if totals is not None:
            last = {**totals(), "key": "total", "label": "Total"}
            yield [cell(last.get(c), c) for c in columns]

    return csv_lines(columns, cells())


def report_csv_response(
    account: Account, dimension: str, filters: ReportFilters, *, order: str | None = None
) -> StreamingHttpResponse:
    """Every row of the report (no paging) and the totals. Raises ReportParamError."""
    rows, totals = report_export(account, dimension, filters, order=order)
    lines = report_lines(report_columns(dimension), rows, totals)
    span = "-".join(d.isoformat() for d in (filters.start, filters.end) if d)
    return csv_response(f"{dimension}{'-' + span if span else ''}.csv", lines)
