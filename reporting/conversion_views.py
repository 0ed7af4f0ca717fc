"""The dashboard's conversion page: one conversion, its credit and every adjustment of its
approval or amounts (before, after, change, source, reason, who, when), and the form a
config-role member (owner, admin) corrects them with, through attribution.adjustments
(other roles get 403 for the form, other accounts 404)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from attribution import postback_input
from attribution.adjustments import AdjustmentInvalid, Change, Origin, conversion_adjust
from attribution.conversion_events import RELATED
from attribution.models import Conversion, ConversionAdjustment
from core import bounds
from core.models import Account, Membership
from reporting import dashboard
from reporting.access_views import manage_page
from reporting.pages import account_page


def conversion_url_of(account: Account) -> Any:
    """A function from a conversion id to its page's URL (reversed once, for a table)."""
    sample = "987654321"
    before, _, after = reverse("dashboard-conversion", args=[account.pk, sample]).rpartition(sample)
    return lambda conversion_id: f"{before}{conversion_id}{after}"


def _page(
    request: HttpRequest,
    account: Account,
    conversion_id: int,
    *,
    error: AdjustmentInvalid | None = None,
    form: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponseBase:
    conversion = get_object_or_404(
        Conversion.objects.select_related(*RELATED, "message_click"),
        pk=conversion_id,
        account=account,
    )
    adjustments = ConversionAdjustment.objects.filter(conversion=conversion).order_by(
        "-created_at", "-pk"
    )
    context = {
        "account": account,
        "accounts": dashboard.member_accounts(request.user),
        "membership": request.membership,
        "nav": "conversions",
        "title": f"Conversion {conversion.pk}",
        "conversion": conversion,
        "adjustments": adjustments,
        "approvals": Conversion.Approval.choices,
        "reason_max": bounds.MAX_ADJUSTMENT_REASON_LENGTH,
        "error": error,
        "form": form or {},
    }
    return render(request, "reporting/conversion.html", context, status=status)


@account_page
def conversion_detail(
    request: HttpRequest, account: Account, conversion_id: int
) -> HttpResponseBase:
    return _page(request, account, conversion_id)


def _change_parse(post: Any) -> tuple[Change, str]:
    """The form's change (new totals; a field left as shown changes nothing) and reason."""
    approval = postback_input.parse_approval(post.get("approval"), field="approval")
    amounts: dict[str, Decimal | None] = {
        field: postback_input.parse_optional_amount(field, post.get(field))
        for field in ("revenue", "payout")
    }
    reason = (post.get("reason") or "").strip()
    if len(reason) > bounds.MAX_ADJUSTMENT_REASON_LENGTH:
        raise AdjustmentInvalid(
            "reason", f"Must be at most {bounds.MAX_ADJUSTMENT_REASON_LENGTH} characters."
        )
    return Change(approval=approval, **amounts), reason


@require_POST
@manage_page(Membership.can_manage_config)
def conversion_change(
    request: HttpRequest, account: Account, conversion_id: int
) -> HttpResponseBase:
    conversion = get_object_or_404(Conversion, pk=conversion_id, account=account)
    form = {key: request.POST.get(key, "") for key in ("approval", "revenue", "payout", "reason")}
    try:
        change, reason = _change_parse(request.POST)
        origin = Origin(
            source=ConversionAdjustment.Source.API,
            reason=reason,
            actor=f"user {request.user.get_username()}",
        )
        adjustment = conversion_adjust(conversion.pk, change, origin)
    except postback_input.PostbackInvalid as exc:
        error = AdjustmentInvalid(exc.field, exc.message)
        return _page(request, account, conversion_id, error=error, form=form, status=400)
    except AdjustmentInvalid as exc:
        return _page(request, account, conversion_id, error=exc, form=form, status=400)
    if adjustment is None:
        messages.info(request, "Nothing changed.")
    else:
        messages.success(request, "Saved: the change is kept as an adjustment.")
    return redirect("dashboard-conversion", account.pk, conversion.pk)
