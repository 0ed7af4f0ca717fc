"""The dashboard's campaign page (/<account_id>/campaigns/<campaign_id>/): the campaign's
figures over the page's days and by day (reporting.reports, filtered by the campaign, as
the report API serves them) and its holdout lift panel (reporting.lift, all time: the
groups are the campaign's whole audience)."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.http import HttpRequest, HttpResponseBase, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import reverse

from core.models import Account, Campaign
from reporting.lift import campaign_lift
from reporting.metrics import COLUMNS
from reporting.pages import account_page, page
from reporting.report_views import DIMENSIONS, figures_of, report_filters, report_table
from reporting.tables import query


@account_page
def campaign_detail(request: HttpRequest, account: Account, campaign_id: int) -> HttpResponseBase:
    campaign = get_object_or_404(Campaign, pk=campaign_id, account=account)
    dates, filters = report_filters(request, account)
    filters = dataclasses.replace(filters, campaign=campaign.pk)
    table = report_table(request, account, DIMENSIONS["days"], filters)
    if isinstance(table, HttpResponseBase):  # the by-day CSV
        return table
    names = [h["name"] for h in table.headers if h["name"] in COLUMNS]
    day_params = {k: request.GET[k] for k in ("start", "end") if request.GET.get(k)}
    messages_url = reverse("dashboard-messages", args=[account.pk]) + query(
        QueryDict(), **day_params, campaign=campaign.pk
    )
    return page(
        request, account, "reporting/campaign.html", "campaigns",
        title=campaign.name, campaign=campaign, dates=dates, table=table,
        figures=figures_of(table, names), lift=_lift_panel(campaign_lift(campaign)),
        messages_url=messages_url,
    )  # fmt: skip


def _lift_panel(lift: dict[str, Any] | None) -> dict[str, Any] | None:
    """The lift report with its rates as percentages for reading (the API keeps fractions)."""
    if lift is None:
        return None

    def pct(value: str | None) -> str | None:
        return None if value is None else f"{float(value) * 100:.2f}%"

    figures = lift["lift"]
    return {
        **lift,
        "treated_rate": pct(lift["treated"]["conversion_rate"]),
        "holdout_rate": pct(lift["holdout"]["conversion_rate"]),
        "absolute": pct(figures["absolute"]),
        "relative": pct(figures["relative"]),
        "absolute_ci": [pct(v) for v in figures["absolute_ci95"]],
        "relative_ci": [pct(v) for v in figures["relative_ci95"]],
        "significant": _excludes_zero(figures["absolute_ci95"]),
    }


def _excludes_zero(interval: list[str | None]) -> bool | None:
    low, high = interval
    if low is None or high is None:
        return None
    return float(low) > 0 or float(high) < 0
