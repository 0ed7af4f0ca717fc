"""The dashboard's tables: which columns a page shows, how a cell reads on the page and in
its CSV export, and which column a `?sort=` names.

A table is a list of `Column`s and rows of plain dicts. The page shows each cell formatted
for people (`1,234`, `12.5%`, `$1,234.50`) and carries the exact value in `data-value`;
the CSV export has the same columns in the same order, with those exact values.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import F, Model, QuerySet
from django.http import HttpRequest, HttpResponseBase, QueryDict, StreamingHttpResponse

from core import bounds
from reporting import metrics
from reporting.exports import csv_lines, formula_defused
from reporting.exports import csv_response as csv_stream
from reporting.streaming import streamed

PAGE_SIZE = 50
KINDS = ("text", "int", "money", "pct", "times", "date", "datetime", "bool")
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
        return self.kind in ("int", "money", "pct", "times")


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
    if column.kind == "times":  # a multiple: return on spend
        return f"{Decimal(value).quantize(Decimal('0.01'), ROUND_HALF_UP):,f}×"
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


@dataclass(frozen=True)
class Pager:
    number: int
    count: int
    size: int
    previous_href: str | None
    next_href: str | None

    @property
    def num_pages(self) -> int:
        return max(1, math.ceil(self.count / self.size))

    @property
    def first_index(self) -> int:
        return min(self.count, (self.number - 1) * self.size + 1)

    @property
    def last_index(self) -> int:
        return min(self.count, self.number * self.size)


@dataclass(frozen=True)
class Table:
    """What templates/reporting/_table.html renders."""

    name: str
    headers: list[dict[str, Any]]
    rows: list[list[Any]]
    pager: Pager | None
    csv_href: str
    totals: list[Any] | None = None


def query(params: QueryDict, **changes: str | int | None) -> str:
    """The current query string with some parameters changed (None removes one)."""
    result = params.copy()
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = str(value)
    encoded = result.urlencode()
    return f"?{encoded}" if encoded else "?"


def wants_csv(request: HttpRequest) -> bool:
    value = request.GET.get("format", "")
    if value not in ("", "html", "csv"):
        raise BadParam("format", "Must be csv, or left out for the page.")
    return value == "csv"


def exports(request: HttpRequest, name: str) -> bool:
    """Whether this request is the CSV export of the table `name` (`?format=csv`, and
    `&table=name` on a page with several tables)."""
    return wants_csv(request) and request.GET.get("table", name) == name


def page_number(request: HttpRequest, param: str = "page") -> int:
    value = request.GET.get(param) or "1"
    if not (value.isascii() and value.isdigit()) or len(value) > 9 or int(value) < 1:
        raise BadParam(param, "Must be a page number: 1, 2, 3...")
    number = int(value)
    try:
        offset = (number - 1) * PAGE_SIZE
        bounds.page_check(size_field="page_size", size=PAGE_SIZE, offset_field=param, offset=offset)
    except bounds.OutOfBounds as exc:
        raise BadParam(exc.field, exc.message) from None
    return number


def table_build(
    request: HttpRequest,
    tz: zoneinfo.ZoneInfo,
    *,
    name: str,
    columns: Sequence[Column],
    sort: Sort | None,
    rows: Iterable[dict[str, Any]],
    count: int | None = None,
    number: int = 1,
    sort_param: str = "sort",
    page_param: str = "page",
    totals: dict[str, Any] | None = None,
) -> Table:
    params = request.GET
    pager = None
    if count is not None:
        last = max(1, math.ceil(count / PAGE_SIZE))
        pager = Pager(
            number=number,
            count=count,
            size=PAGE_SIZE,
            previous_href=query(params, **{page_param: number - 1}) if number > 1 else None,
            next_href=query(params, **{page_param: number + 1}) if number < last else None,
        )
    return Table(
        name=name,
        headers=[
            {
                "label": h.column.label,
                "name": h.column.name,
                "numeric": h.column.numeric,
                "state": h.state,
                "href": query(params, **{sort_param: h.sort_param, page_param: None})
                if h.sort_param
                else None,
            }
            for h in headers(columns, sort)
        ],
        rows=cells(columns, rows, tz),
        pager=pager,
        csv_href=query(params, format="csv", table=name, **{page_param: None}),
        totals=cells(columns, [totals], tz)[0] if totals is not None else None,
    )


def orm_ordered(queryset: QuerySet, field: str, sort: Sort) -> QuerySet:
    # Empty values last either way. Asked of a column that cannot be NULL, NULLS LAST on a
    # descending order would still stop PostgreSQL reading it from an ascending index.
    nulls_last = sort.descending and _nullable(queryset.model, field)
    expression = F(field).desc(nulls_last=nulls_last or None) if sort.descending else F(field).asc()
    return queryset.order_by(expression, "-pk" if sort.descending else "pk")


def _nullable(model: type[Model], path: str) -> bool:
    """Whether `path` (`name`, `relation__name`) can be NULL, through a join or itself."""
    for name in path.split("__"):
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            return True  # an annotation, say: assume so
        if field.null:
            return True
        if field.related_model is None:
            return False
        model = field.related_model
    return False


def orm_table(
    request: HttpRequest,
    tz: zoneinfo.ZoneInfo,
    *,
    name: str,
    columns: Sequence[Column],
    default: Sort,
    queryset: QuerySet,
    row: Callable[[Any], dict[str, Any]],
    order_fields: dict[str, str] | None = None,
    sort_param: str = "sort",
    page_param: str = "page",
) -> Table | HttpResponseBase:
    """A page of an ORM query as a Table, or, for ?format=csv, all of it as CSV."""
    sort = sort_parse(request.GET.get(sort_param), columns, default, sort_param) or default
    queryset = orm_ordered(queryset, (order_fields or {}).get(sort.column, sort.column), sort)
    if exports(request, name):
        return csv_response(f"{name}.csv", columns, map(row, streamed(queryset)), tz)
    number = page_number(request, page_param)
    count = queryset.count()
    objects = queryset[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    return table_build(
        request,
        tz,
        name=name,
        columns=columns,
        sort=sort,
        rows=[row(obj) for obj in objects],
        count=count,
        number=number,
        sort_param=sort_param,
        page_param=page_param,
    )


def python_table(
    request: HttpRequest,
    tz: zoneinfo.ZoneInfo,
    *,
    name: str,
    columns: Sequence[Column],
    default: Sort,
    rows: list[dict[str, Any]],
    sort_param: str = "sort",
) -> Table | HttpResponseBase:
    """A short table (a contact's journey, bot reasons) sorted in memory."""
    sort = sort_parse(request.GET.get(sort_param), columns, default, sort_param) or default
    present = [r for r in rows if r.get(sort.column) is not None]
    missing = [r for r in rows if r.get(sort.column) is None]
    present.sort(key=lambda r: r[sort.column], reverse=sort.descending)
    rows = present + missing
    if exports(request, name):
        return csv_response(f"{name}.csv", columns, rows, tz)
    return table_build(
        request, tz, name=name, columns=columns, sort=sort, rows=rows, sort_param=sort_param
    )


def csv_response(
    filename: str,
    columns: Sequence[Column],
    rows: Iterable[dict[str, Any]],
    tz: zoneinfo.ZoneInfo,
) -> StreamingHttpResponse:
    """Every row of a table as CSV, streamed, through the one CSV writer (reporting.exports)."""
    cells = [(c.name, _csv_cell(c, tz)) for c in columns]
    lines = csv_lines(
        [c.name for c in columns], ([cell(row.get(name)) for name, cell in cells] for row in rows)
    )
    return csv_stream(filename, lines)


def _csv_cell(column: Column, tz: zoneinfo.ZoneInfo) -> Callable[[Any], str]:
    """`raw` for one column, decided once per export, not once per cell (an export can be
    half a million rows). Only text can start a formula: a number, date or flag is written
    as `raw` writes it; text is defused by the one CSV rule (exports.formula_defused)."""
    if column.kind == "datetime" and column.name not in metrics.COLUMNS:

        def cell(value: Any) -> str:
            return "" if value is None else value.astimezone(tz).isoformat(timespec="seconds")

        return cell
    if column.numeric or column.kind in ("bool", "date") or column.name in metrics.COLUMNS:
        return lambda value: raw(column, value, tz)

    def text(value: Any) -> str:
        return "" if value is None else formula_defused(str(value))

    return text
