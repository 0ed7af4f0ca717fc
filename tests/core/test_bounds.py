"""core.bounds: the limits inputs are held to, and the money columns they mirror."""

from __future__ import annotations

import datetime as dt

import pytest

from attribution.models import Conversion
from core import bounds
from core.models import Offer

TODAY = dt.date(2026, 12, 1)
NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


def days(start: str | None, end: str | None, **kwargs: object) -> tuple[str | None, ...]:
    result = bounds.day_range(
        dt.date.fromisoformat(start) if start else None,
        dt.date.fromisoformat(end) if end else None,
        today=TODAY,
        **kwargs,  # type: ignore[arg-type]
    )
    return tuple(d.isoformat() if d else None for d in result)


def refused(start: str | None, end: str | None, **kwargs: object) -> tuple[str, str]:
    with pytest.raises(bounds.OutOfBounds) as caught:
        days(start, end, **kwargs)
    return caught.value.field, caught.value.message


class TestDayRange:
    def test_a_missing_end_is_today_and_a_missing_start_1099_days_before_it(self) -> None:
        assert days(None, None) == ("2023-11-28", "2026-12-01")
        assert days(None, "2026-06-30") == ("2023-06-27", "2026-06-30")
        assert days("2026-11-01", None) == ("2026-11-01", "2026-12-01")

    def test_a_missing_start_is_never_before_2000(self) -> None:
        assert days(None, "2001-06-30") == ("2000-01-01", "2001-06-30")

    def test_dates_run_from_2000_to_366_days_ahead(self) -> None:
        assert days("2000-01-01", "2000-01-31") == ("2000-01-01", "2000-01-31")
        assert days("2027-12-01", "2027-12-02") == ("2027-12-01", "2027-12-02")
        assert refused("1999-12-31", "2000-01-31")[0] == "start"
        field, message = refused(None, "9999-12-31")
        assert field == "end" and "2000-01-01 to 2027-12-02" in message
        assert refused("2027-12-03", "2027-12-03")[0] == "start"

    def test_a_range_of_more_than_1100_days_names_start(self) -> None:
        assert days("2023-11-28", "2026-12-01") == ("2023-11-28", "2026-12-01")  # 1,100 days
        field, message = refused("2023-11-27", "2026-12-01")
        assert field == "start" and "1,100" in message
        assert refused("2000-01-01", None)[0] == "start"

    def test_an_end_before_start_names_end_or_start_when_end_was_left_out(self) -> None:
        assert refused("2026-11-02", "2026-11-01") == ("end", "Must be on or after start.")
        assert refused("2026-12-05", None)[0] == "start"

    def test_a_default_span_of_30_days_is_the_dashboards(self) -> None:
        assert days(None, None, default_span_days=30) == ("2026-11-02", "2026-12-01")
        assert days(None, "2026-01-31", default_span_days=30) == ("2026-01-02", "2026-01-31")

    def test_no_default_span_leaves_what_is_missing_open_but_bounded(self) -> None:
        assert days(None, None, default_span_days=None) == (None, None)
        assert days("2020-01-01", None, default_span_days=None) == ("2020-01-01", None)
        assert refused(None, "9999-12-31", default_span_days=None)[0] == "end"


class TestMomentCheck:
    @pytest.mark.parametrize(
        "value",
        [
            dt.datetime(2000, 1, 1, tzinfo=dt.UTC),
            NOW + bounds.SENT_AT_MAX_AHEAD,
            dt.datetime(2000, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        ],
    )
    def test_from_2000_to_the_time_ahead_passes(self, value: dt.datetime) -> None:
        bounds.moment_check("sent_at", value, now=NOW, ahead=bounds.SENT_AT_MAX_AHEAD)

    @pytest.mark.parametrize(
        "value",
        [
            dt.datetime(1, 1, 1, tzinfo=dt.UTC),
            dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
            dt.datetime(2000, 1, 1, 0, 30, tzinfo=dt.timezone(dt.timedelta(hours=1))),
            NOW + bounds.SENT_AT_MAX_AHEAD + dt.timedelta(seconds=1),
            dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-14))),
        ],
    )
    def test_outside_is_refused_naming_the_field(self, value: dt.datetime) -> None:
        with pytest.raises(bounds.OutOfBounds) as caught:
            bounds.moment_check("sent_at", value, now=NOW, ahead=bounds.SENT_AT_MAX_AHEAD)
        assert caught.value.field == "sent_at"
        assert caught.value.message == "Must be from 2000-01-01 to 7 days from now."


class TestPageCheck:
    def test_up_to_1000_rows_from_up_to_a_million_rows_in_pass(self) -> None:
        bounds.page_check(size_field="limit", size=1000, offset_field="offset", offset=1_000_000)

    @pytest.mark.parametrize(
        ("size", "offset", "field"),
        [(0, 0, "limit"), (1001, 0, "limit"), (10, 1_000_001, "offset"), (10, -1, "offset")],
    )
    def test_past_them_names_the_parameter(self, size: int, offset: int, field: str) -> None:
        with pytest.raises(bounds.OutOfBounds) as caught:
            bounds.page_check(size_field="limit", size=size, offset_field="offset", offset=offset)
        assert caught.value.field == field


@pytest.mark.parametrize(
    "column",
    [Offer._meta.get_field("default_payout"), Offer._meta.get_field("revenue_cap"),
     Conversion._meta.get_field("revenue")],
    ids=lambda f: f"{f.model.__name__}.{f.name}",
)  # fmt: skip
def test_the_money_bound_is_what_each_money_column_holds(column: object) -> None:
    assert (column.max_digits, column.decimal_places) == (  # type: ignore[attr-defined]
        bounds.MONEY_MAX_DIGITS,
        bounds.MONEY_DECIMAL_PLACES,
    )
    assert str(bounds.MONEY_MAX) == "9999999999.9999"
