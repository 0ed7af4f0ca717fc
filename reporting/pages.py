"""How a dashboard page is served: the member's account, the links between an account's
pages, rendering, and the home page.

The marketer's dashboard: server-rendered pages on the app hosts, login required, each
scoped to an account the user is a member of. Any other account id, or a message or contact
of another account, is a 404, so ids cannot be probed.

Every table sorts (`?sort=column`, `-column` for descending), filters by date range
(`?start=&end=`, days in the account's time zone), pages (`?page=`) and exports the same
columns as CSV (`?format=csv`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from core import replica
from core.models import Account, Membership
from reporting import dashboard
from reporting.report_params import ReportParamError
from reporting.tables import (
    BadParam,
    wants_csv,
)

View = Callable[..., HttpResponseBase]


def request_membership(request: HttpRequest, account_id: int) -> Membership:
    """The user's membership of the URL's account, kept as `request.membership` for the
    templates; another account (or an inactive one) is a 404, so ids cannot be probed."""
    membership = dashboard.membership_of(request.user, account_id)
    if membership is None:
        raise Http404("No such account among yours.")
    request.membership = membership
    return membership


def account_page(view: View) -> View:
    """Login required; the URL's account must be one of the user's (else 404); a bad query
    parameter is a 400 page naming it. The user's membership is `request.membership`."""

    @login_required
    @require_GET
    @wraps(view)
    def wrapper(request: HttpRequest, account_id: int, **kwargs: Any) -> HttpResponseBase:
        membership = request_membership(request, account_id)
        account = membership.account
        try:
            with timezone.override(account.time_zone):  # pages show the account's clock
                # The page's reads on the replica when it may serve them (core.replica);
                # the session, the user and the membership were read on the primary.
                return replica.read(account.pk, view, request, account, **kwargs)
        except (BadParam, ReportParamError) as exc:
            # ReportObjectNotFound (a filter naming another account's campaign) is a 404.
            status = getattr(exc, "status", 400)
            context = {
                "account": account, "membership": membership, "param": exc.param,
                "message": exc.message,
            }  # fmt: skip
            return render(request, "reporting/bad_request.html", context, status=status)

    return wrapper


class AccountUrls:
    """Links between an account's pages, for rows that point at a message or a contact."""

    def __init__(self, account: Account) -> None:
        # Each reversed once and completed per row: a reverse() per row is a third of the
        # time of a long export.
        self._message = _around_id("dashboard-message", account.pk)
        self._contact = _around_id("dashboard-contact", account.pk)

    def message(self, message_id: int) -> str:
        before, after = self._message
        return f"{before}{message_id}{after}"

    def contact(self, contact_id: int) -> str:
        before, after = self._contact
        return f"{before}{contact_id}{after}"

    def of(self, row: dict[str, Any]) -> dict[str, Any]:
        """`row` with links to its message and contact (message_url, contact_url)."""
        message_id, contact_id = row["message_id"], row["contact_id"]
        return {
            **row,
            "message_url": self.message(message_id) if message_id else None,
            "contact_url": self.contact(contact_id) if contact_id else None,
        }


def _around_id(name: str, account_id: int) -> tuple[str, str]:
    """The account's URL `name` before and after its last argument, an id."""
    sample = "987654321"
    before, _, after = reverse(name, args=[account_id, sample]).rpartition(sample)
    return before, after


def page(
    request: HttpRequest, account: Account, template: str, nav: str, **context: Any
) -> HttpResponseBase:
    if wants_csv(request):  # no table of this page took the export
        raise BadParam("table", "This page has no table by that name to export.")
    return render(
        request,
        template,
        {
            "account": account,
            "accounts": dashboard.member_accounts(request.user),
            "membership": request.membership,
            "nav": nav,
            # A new date range keeps the table's order.
            "keep": {
                k: request.GET[k]
                for k in ("sort", "flags_sort", "links_sort")
                if request.GET.get(k)
            },
            **context,
        },
    )


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponseBase:
    """The user's only account's overview, or a choice of their accounts."""
    accounts = list(dashboard.member_accounts(request.user))
    if len(accounts) == 1:
        return redirect("dashboard-overview", accounts[0].pk)
    return render(request, "reporting/accounts.html", {"accounts": accounts})
