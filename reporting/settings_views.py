"""The dashboard's sending costs page (/<account_id>/settings/costs/): every member sees
the account's sms_segment_cost, sms_rates and email_cost; admins and owners change them
(others get 403 on the form). The values are checked by core.costs, as the API and Django
admin check them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from core import bounds, costs
from core.models import Account
from reporting import dashboard
from reporting.pages import request_membership


class CostsForm(forms.Form):
    sms_segment_cost = forms.CharField(max_length=40, label="SMS segment cost")
    sms_rates = forms.CharField(
        required=False,
        max_length=40 * bounds.MAX_SMS_RATES,
        widget=forms.Textarea(attrs={"rows": 6}),
        label="Rates by country",
        help_text='One country a line, its ISO code and the cost of a segment: "US 0.0079".',
    )
    email_cost = forms.CharField(max_length=40, label="Email cost")

    def _amount(self, field: str) -> Decimal:
        try:
            return costs.amount_parse(field, self.cleaned_data[field])
        except bounds.OutOfBounds as exc:
            raise forms.ValidationError(exc.message) from None

    def clean_sms_segment_cost(self) -> Decimal:
        return self._amount("sms_segment_cost")

    def clean_email_cost(self) -> Decimal:
        return self._amount("email_cost")

    def clean_sms_rates(self) -> dict[str, str]:
        rates: dict[str, Any] = {}
        for number, line in enumerate(self.cleaned_data["sms_rates"].splitlines(), 1):
            parts = line.replace("=", " ").replace(":", " ").split()
            if not parts:
                continue
            if len(parts) != 2:
                raise forms.ValidationError(
                    f'Line {number}: write a country and a cost, "US 0.0079".'
                )
            rates[parts[0].upper()] = parts[1]
        try:
            return costs.sms_rates_parse(rates)
        except bounds.OutOfBounds as exc:
            raise forms.ValidationError(exc.message) from None


def rates_text(rates: dict[str, str]) -> str:
    return "\n".join(f"{region} {amount}" for region, amount in sorted((rates or {}).items()))


def _initial(account: Account) -> dict[str, str]:
    return {
        "sms_segment_cost": f"{account.sms_segment_cost:.4f}",
        "sms_rates": rates_text(account.sms_rates),
        "email_cost": f"{account.email_cost:.4f}",
    }


def _page(
    request: HttpRequest, account: Account, form: CostsForm, status: int = 200
) -> HttpResponse:
    context = {
        "account": account,
        "accounts": dashboard.member_accounts(request.user),
        "membership": request.membership,
        "nav": "settings",
        "form": form,
        "rates": sorted((account.sms_rates or {}).items()),
        "can_change": request.membership.can_manage_config(),
    }
    return render(request, "reporting/settings_costs.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def costs_settings(request: HttpRequest, account_id: int) -> HttpResponseBase:
    membership = request_membership(request, account_id)
    account = membership.account
    with timezone.override(account.time_zone):
        if request.method != "POST":
            return _page(request, account, CostsForm(initial=_initial(account)))
        if not membership.can_manage_config():
            context = {"account": account, "membership": membership, "nav": "settings",
                       "accounts": dashboard.member_accounts(request.user)}  # fmt: skip
            return render(request, "reporting/forbidden.html", context, status=403)
        form = CostsForm(request.POST)
        if not form.is_valid():
            return _page(request, account, form, status=400)
        for name, value in form.cleaned_data.items():
            setattr(account, name, value)
        # Only these fields: a concurrent change of other settings is not overwritten.
        account.save(update_fields=list(form.cleaned_data))
        messages.success(request, "Sending costs saved: they apply to messages minted from now on.")
        return redirect("dashboard-settings-costs", account.pk)
