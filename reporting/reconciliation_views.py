"""The dashboard's Reconciliation pages: the account's reconciliations with an upload form
(a network's conversion report, its preset, the offers and days), one reconciliation's five
buckets with their totals and rows, its disputes CSV, and the restate. Every member reads;
uploading and restating take the config role (as the API's `config` scope); other accounts
are a 404. The work is attribution.reconciliation's."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from attribution import reconciliation as recon
from attribution.models import Reconciliation
from attribution.reconciliation_api import disputes_response
from core import bounds
from core.models import Account, Membership, Offer
from reporting import dashboard
from reporting.access_views import manage_page
from reporting.pages import account_page

LISTED = 50
BUCKET_LABELS = dict(recon.Bucket.choices)


class ReconciliationForm(forms.Form):
    preset = forms.ChoiceField(choices=Reconciliation.Preset.choices, initial="tune")
    offers = forms.MultipleChoiceField(choices=(), help_text="The offers the file covers.")
    start = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    file = forms.FileField(help_text="The network's conversion report, CSV.")
    map = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: field:Column a line, e.g. txn_id:Order (docs/reconciliation.md).",
    )

    def __init__(self, *args: Any, account: Account, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        offers = Offer.objects.filter(account=account).order_by("name", "id")
        self.fields["offers"].choices = [(o.pk, o.name) for o in offers]


def _context(request: HttpRequest, account: Account, **extra: Any) -> dict[str, Any]:
    return {
        "account": account,
        "accounts": dashboard.member_accounts(request.user),
        "membership": request.membership,
        "nav": "reconciliations",
        **extra,
    }


def _list_page(
    request: HttpRequest, account: Account, form: ReconciliationForm, status: int = 200
) -> HttpResponse:
    rows = [
        recon.reconciliation_data(r, rows=False) for r in recon.reconciliations_of(account)[:LISTED]
    ]
    context = _context(request, account, reconciliations=rows, form=form, buckets=BUCKET_LABELS)
    return render(request, "reporting/reconciliations.html", context, status=status)


@account_page
def reconciliations(request: HttpRequest, account: Account) -> HttpResponseBase:
    return _list_page(request, account, ReconciliationForm(account=account))


@require_POST
@manage_page(Membership.can_manage_config)
def reconciliation_upload(request: HttpRequest, account: Account) -> HttpResponseBase:
    form = ReconciliationForm(request.POST, request.FILES, account=account)
    if not form.is_valid():
        return _list_page(request, account, form, status=400)
    data = form.cleaned_data
    upload = data["file"]
    if upload.size > bounds.MAX_IMPORT_BYTES:
        form.add_error("file", f"At most {bounds.MAX_IMPORT_BYTES:,} bytes; split it.")
        return _list_page(request, account, form, status=400)
    try:
        columns = recon.columns_for(data["preset"], data["map"].splitlines())
        offers = recon.offers_check(account, data["offers"])
        start, end = recon.days_check(account, data["start"].isoformat(), data["end"].isoformat())
        reconciliation = recon.reconciliation_create(
            account=account, preset=data["preset"], offers=offers, start=start, end=end,
            columns=columns, body=upload.read(), actor=f"user {request.user.get_username()}",
            filename=upload.name or "",
        )  # fmt: skip
    except recon.ReconciliationInvalid as exc:
        field = {"offer": "offers", "body": "file"}.get(exc.field, exc.field)
        form.add_error(field if field in form.fields else "file", exc.message)
        return _list_page(request, account, form, status=400)
    messages.success(request, f"Reconciliation {reconciliation.pk} compared.")
    return redirect("dashboard-reconciliation", account.pk, reconciliation.pk)


@account_page
def reconciliation_detail(
    request: HttpRequest, account: Account, reconciliation_id: int
) -> HttpResponseBase:
    reconciliation = get_object_or_404(Reconciliation, pk=reconciliation_id, account=account)
    data = recon.reconciliation_data(reconciliation)
    buckets = [(bucket, label, data[bucket]) for bucket, label in BUCKET_LABELS.items()]
    offers = dict(
        Offer.objects.filter(account=account, pk__in=reconciliation.offers).values_list(
            "pk", "name"
        )
    )
    context = _context(
        request, account, reconciliation=data, buckets=buckets,
        offer_names=[offers.get(pk, f"offer {pk}") for pk in reconciliation.offers],
        shown=recon.ROWS_SHOWN,
    )  # fmt: skip
    return render(request, "reporting/reconciliation.html", context)


@account_page
def reconciliation_disputes(
    request: HttpRequest, account: Account, reconciliation_id: int
) -> HttpResponseBase:
    reconciliation = get_object_or_404(Reconciliation, pk=reconciliation_id, account=account)
    return disputes_response(reconciliation)


@require_POST
@manage_page(Membership.can_manage_config)
def reconciliation_restate(
    request: HttpRequest, account: Account, reconciliation_id: int
) -> HttpResponseBase:
    get_object_or_404(Reconciliation, pk=reconciliation_id, account=account)
    if request.POST.get("confirm") != "1":
        messages.error(request, "Tick the box to confirm the restate: nothing was changed.")
        return redirect("dashboard-reconciliation", account.pk, reconciliation_id)
    result = recon.reconciliation_restate(
        account=account,
        reconciliation_id=reconciliation_id,
        actor=f"user {request.user.get_username()}",
    )
    text = f"Restated: {result['adjusted']} adjusted, {result['created']} created"
    if result["skipped"]:
        reasons = "; ".join(f"line {s['line']}: {s['reason']}" for s in result["skipped"][:5])
        text += f", {len(result['skipped'])} skipped ({reasons})"
    messages.success(request, text + ".")
    return redirect("dashboard-reconciliation", account.pk, reconciliation_id)
