"""The dashboard's tables: which columns a page shows, how a cell reads on the page and in
its CSV export, and which column a `?sort=` names.

A table is a list of `Column`s and rows of plain dicts. The page shows each cell formatted
for people (`1,234`, `12.5%`, `$1,234.50`) and carries the exact value in `data-value`;
the CSV export has the same columns in the same order, with those exact values.
"""

from __future__ import annotations

import csv
import datetime as dt
import zoneinfo
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.http import StreamingHttpResponse

from reporting import metrics

KINDS = ("text", "int", "money", "pct", "date", "datetime", "bool")
EMPTY = "—"  # a ratio over zero, a missing value


class BadParam(Exception):
    """A query parameter the page cannot use: answered with a 400 naming it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


@dataclass(frozen=True)
class Column:
    name: str  # the row key, the CSV header and the `?sort=` value
    label: str
    kind: str = "text"
    sortable: bool = True
    # The row key holding the URL this cell links to, if it links.
    link: str | None = None
    places: int = 2  # decimal places of money on the page (the CSV keeps the exact value)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")

    @property
    def numeric(self) -> bool:
        return self.kind in ("int", "money", "pct")


@dataclass(frozen=True)
class Cell:
    text: str
    value: str
    href: str | None
    numeric: bool


@dataclass(frozen=True)
class Header:
    column: Column
    sort_param: str | None  # the `?sort=` that clicking the header asks for
    state: str  # "ascending", "descending" or "none" (aria-sort)


@dataclass(frozen=True)
class Sort:
    column: str
    descending: bool

    @property
    def param(self) -> str:
        return f"-{self.column}" if self.descending else self.column


def sort_parse(
    value: str | None, columns: Sequence[Column], default: Sort | None, param: str = "sort"
) -> Sort | None:
    """`column` or `-column`; None (the default None): the data's own order."""
    if not value:
        return default
    name = value.removeprefix("-")
    if not any(c.name == name and c.sortable for c in columns):
        allowed = ", ".join(c.name for c in columns if c.sortable)
        raise BadParam(param, f"Unknown column {name!r}; sort by one of: {allowed}.")
    return Sort(name, value.startswith("-"))


def headers(columns: Sequence[Column], sort: Sort | None) -> list[Header]:
    result = []
    for column in columns:
        if not column.sortable:
            result.append(Header(column, None, "none"))
            continue
        if sort and column.name == sort.column:
            state = "descending" if sort.descending else "ascending"
            # Clicking the sorted column flips it.
            param = column.name if sort.descending else f"-{column.name}"
        else:
            state = "none"
            # Figures are most useful biggest first; names and dates A to Z, oldest first.
            param = f"-{column.name}" if column.numeric else column.name
        result.append(Header(column, param, state))
    return result


def raw(column: Column, value: Any, tz: zoneinfo.ZoneInfo) -> str:
    """The exact value, as the CSV export and the page's `data-value` carry it."""
    if value is None:
        return ""
    if column.name in metrics.COLUMNS:
        return str(metrics.present(value, column.name))  # as the report API writes it
    if column.kind == "money":
        return str(Decimal(value).quantize(metrics.MONEY_PLACES, ROUND_HALF_UP))
    if column.kind == "bool":
        return "true" if value else "false"
    if column.kind == "datetime":
        return value.astimezone(tz).isoformat(timespec="seconds")
    if column.kind == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    return str(value)


def display(column: Column, value: Any, tz: zoneinfo.ZoneInfo) -> str:
    """The value as a person reads it on the page."""
    if value is None or value == "":
        return EMPTY
    if column.kind == "int":
        return f"{int(value):,}"
    if column.kind == "money":
        return f"{Decimal(value).quantize(Decimal(10) ** -column.places, ROUND_HALF_UP):,f}"
    if column.kind == "pct":
        return f"{(Decimal(value) * 100).quantize(Decimal('0.1'), ROUND_HALF_UP)}%"
    if column.kind == "bool":
        return "yes" if value else "no"
    if column.kind == "datetime":
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")
    if column.kind == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    return str(value)


def cells(
    columns: Sequence[Column], rows: Iterable[dict[str, Any]], tz: zoneinfo.ZoneInfo
) -> list[list[Cell]]:
    return [
        [
            Cell(
                text=display(c, row.get(c.name), tz),
                value=raw(c, row.get(c.name), tz),
                href=row.get(c.link) if c.link else None,
                numeric=c.numeric,
            )
            for c in columns
        ]
        for row in rows
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(
    filename: str,
    columns: Sequence[Column],
    rows: Iterable[dict[str, Any]],
    tz: zoneinfo.ZoneInfo,
) -> StreamingHttpResponse:
    """Streamed, so an export of every message of a busy account never sits in memory."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow([c.name for c in columns])
        for row in rows:
            yield writer.writerow([_csv_safe(raw(c, row.get(c.name), tz)) for c in columns])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_safe(value: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheets (CSV injection);
    # names, user agents and postback queries come from outside. Numbers stay numbers.
    if value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(value):
        return "'" + value
    return value


def _is_number(value: str) -> bool:
    try:
        Decimal(value)
    except ArithmeticError:
        return False
    return True
