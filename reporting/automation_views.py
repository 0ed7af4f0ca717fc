"""The dashboard's Automations pages: the account's automations (trigger and action in
words, delay, fired count, last fired), one automation with its recent runs, and enabling
or disabling one (admins and owners; other roles get 403, other accounts 404)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from automations.describe import action_words, delay_words, names_of, trigger_words
from automations.models import Automation
from automations.selectors import automations_counted, runs_recent
from core.models import Account, Membership
from reporting import dashboard
from reporting.access_views import manage_page
from reporting.pages import account_page

RECENT_RUNS = 100


def _described(automations: list[Automation]) -> list[Automation]:
    names = names_of(automations)
    for automation in automations:
        automation.trigger_text = trigger_words(automation.trigger, names)
        automation.action_text = action_words(automation.action, names)
        automation.delay_text = delay_words(automation.delay_seconds)
    return automations


def _context(request: HttpRequest, account: Account, **extra: object) -> dict:
    return {
        "account": account,
        "accounts": dashboard.member_accounts(request.user),
        "membership": request.membership,
        "nav": "automations",
        **extra,
    }


@account_page
def automations(request: HttpRequest, account: Account) -> HttpResponseBase:
    rows = _described(list(automations_counted(account).order_by("name", "id")))
    context = _context(request, account, title="Automations", automations=rows)
    return render(request, "reporting/automations.html", context)


@account_page
def automation_detail(
    request: HttpRequest, account: Account, automation_id: int
) -> HttpResponseBase:
    automation = get_object_or_404(automations_counted(account), pk=automation_id)
    _described([automation])
    context = _context(
        request,
        account,
        title=automation.name,
        automation=automation,
        runs=runs_recent(automation, limit=RECENT_RUNS),
    )
    return render(request, "reporting/automation.html", context)


@require_POST
@manage_page(Membership.can_manage_config)
def automation_enabled(
    request: HttpRequest, account: Account, automation_id: int
) -> HttpResponseBase:
    automation = get_object_or_404(Automation, pk=automation_id, account=account)
    automation.is_enabled = request.POST.get("enabled") == "1"
    automation.save(update_fields=["is_enabled", "updated_at"])
    state = "enabled" if automation.is_enabled else "disabled"
    messages.success(request, f"{automation.name} is {state}.")
    return redirect("dashboard-automation", account.pk, automation.pk)
