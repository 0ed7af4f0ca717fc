"""Reports as CSV: the same columns and the same figures as the JSON, streamed."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse

from core.models import Account
from reporting.metrics import present
from reporting.selectors import ReportFilters, report_columns, report_export

# A cell starting with one of these is a formula to a spreadsheet (CSV injection): names
# come from the API's users, so such text gets a leading apostrophe.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_TEXT_COLUMNS = ("label",)
CHUNK_CHARS = 64 * 1024


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


def csv_lines(
    columns: list[str],
    rows: Iterable[dict[str, Any]],
    totals: Callable[[], dict[str, Any]] | None,
) -> Iterator[str]:
    """A header, one line per row and, when given, a last line with the totals
    (key "total", label "Total"). `totals` is called once the rows are out."""
    writer = csv.writer(_Echo())
    yield writer.writerow(columns)
    for row in rows:
        yield writer.writerow([cell(row.get(c), c) for c in columns])
    if totals is not None:
        last = {**totals(), "key": "total", "label": "Total"}
        yield writer.writerow([cell(last.get(c), c) for c in columns])


def report_csv_response(
    account: Account, dimension: str, filters: ReportFilters, *, order: str | None = None
) -> StreamingHttpResponse:
    """Every row of the report (no paging) and the totals. Raises ReportParamError."""
    rows, totals = report_export(account, dimension, filters, order=order)
    lines = csv_lines(report_columns(dimension), rows, totals)
    response = StreamingHttpResponse(chunked(lines), content_type="text/csv; charset=utf-8")
    span = "-".join(d.isoformat() for d in (filters.start, filters.end) if d)
    response["Content-Disposition"] = (
        f'attachment; filename="{dimension}{"-" + span if span else ""}.csv"'
    )
    return response
