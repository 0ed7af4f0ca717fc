"""What a report, a list or a dashboard page is asked for: its days (held to core.bounds,
in the account's time zone) and its filters, parsed once here for the API and the pages,
with the error that names a bad parameter."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from django.utils import timezone

from core import bounds
from core.models import Account, Campaign, Creative, Offer, SendingList

MAX_ID = 2**63 - 1


class ReportParamError(ValueError):
    """A report parameter that cannot be used; `param` names it, `message` says why."""

    status = 400

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


class ReportObjectNotFound(ReportParamError):
    """A filter names an object that does not exist in the account (or is another's)."""

    status = 404


@dataclass(frozen=True)
class ReportFilters:
    start: dt.date | None = None  # inclusive, a day in the account's time zone
    end: dt.date | None = None  # inclusive
    campaign: int | None = None
    creative: int | None = None
    offer: int | None = None
    list: int | None = None

    ID_PARAMS = ("campaign", "creative", "offer", "list")

    @classmethod
    def from_params(cls, params: Mapping[str, str], *, today: dt.date) -> ReportFilters:
        """Parse query parameters; raises ReportParamError naming the first bad one. The
        days are days_parse's, `today` in the account's time zone (local_today)."""
        values: dict[str, Any] = {}
        values["start"], values["end"] = days_parse(params, today=today)
        for name in cls.ID_PARAMS:
            raw = (params.get(name) or "").strip()
            if raw:
                values[name] = parse_id(name, raw)
        return cls(**values)

    def as_params(self) -> dict[str, str | None]:
        return {
            k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in asdict(self).items()
        }


def local_today(account: Account) -> dt.date:
    """Today in the account's time zone, the day its reports end on by default."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(account.time_zone)).date()


def days_parse(
    params: Mapping[str, str],
    *,
    today: dt.date,
    default_span_days: int | None = bounds.REPORT_MAX_SPAN_DAYS,
) -> tuple[dt.date | None, dt.date | None]:
    """`start` and `end` (YYYY-MM-DD, inclusive local days) as every report, list and page
    reads them: held to core.bounds.day_range, which fills in what is missing. Raises
    ReportParamError naming the bad one."""
    days: dict[str, dt.date | None] = {}
    for name in ("start", "end"):
        raw = (params.get(name) or "").strip()
        days[name] = None
        if raw:
            try:
                days[name] = dt.date.fromisoformat(raw)
            except ValueError:
                raise ReportParamError(name, "Must be a date, YYYY-MM-DD.") from None
            if len(raw) != 10:
                raise ReportParamError(name, "Must be a date, YYYY-MM-DD.")
    try:
        return bounds.day_range(
            days["start"], days["end"], today=today, default_span_days=default_span_days
        )
    except bounds.OutOfBounds as exc:
        raise ReportParamError(exc.field, exc.message) from None


def day_bounds(
    account: Account, start: dt.date | None, end: dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[start 00:00, the day after end 00:00) in the account's time zone (None: open):
    Account.day_bounds."""
    return account.day_bounds(start, end)


def parse_id(name: str, raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) <= MAX_ID:
        raise ReportParamError(name, "Must be an id (a positive integer).")
    return int(raw)


_FILTER_MODELS = {"campaign": Campaign, "creative": Creative, "offer": Offer, "list": SendingList}


def filters_check(account: Account, filters: ReportFilters) -> None:
    """Every object a filter names must be the account's: else 404, naming the filter,
    whether it is another account's or does not exist (the two look the same)."""
    for name, model in _FILTER_MODELS.items():
        pk = getattr(filters, name)
        if pk is not None and not model.objects.filter(pk=pk, account=account).exists():
            raise ReportObjectNotFound(name, f"No {name} {pk} in this account.")
