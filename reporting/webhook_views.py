"""The dashboard's Webhooks pages, for an account's admins and owners (as its API keys):
the endpoints with their state and recent failures, a form to add one (its secret shown
once), and per endpoint its delivery log and the actions (replay, rotate the secret, send
a test, enable or disable, delete). The rules are webhooks.services'; other members get a
403, other accounts a 404 (reporting.access_views.manage_page)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core import bounds
from core.events import SUBSCRIBABLE
from core.models import Account, Membership, WebhookEndpoint
from reporting.access_views import _context, manage_page
from webhooks import selectors, services

RECENT_DELIVERIES = 50
EVENT_CHOICES = [(t, t) for t in SUBSCRIBABLE]


class WebhookForm(forms.Form):
    url = forms.CharField(max_length=bounds.MAX_WEBHOOK_URL_LENGTH, label="URL")
    events = forms.MultipleChoiceField(
        choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple, initial=["message.clicked"]
    )
    description = forms.CharField(max_length=bounds.MAX_WEBHOOK_DESCRIPTION_LENGTH, required=False)


class ReplayForm(forms.Form):
    # A local time of the account (its time zone is active on these pages).
    since = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )


def _refused(form: forms.Form, exc: services.WebhookRefused) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _endpoint(account: Account, webhook_id: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, pk=webhook_id, account=account)


def _list_page(
    request: HttpRequest, account: Account, form: WebhookForm, status: int = 200, **extra: Any
) -> HttpResponse:
    endpoints = list(selectors.webhooks_of(account))
    failures = selectors.failure_summaries([e.pk for e in endpoints])
    rows = [(endpoint, failures[endpoint.pk]) for endpoint in endpoints]
    context = _context(
        request, account, nav="webhooks", rows=rows, form=form,
        at_limit=len(endpoints) >= bounds.MAX_WEBHOOKS_PER_ACCOUNT, **extra,
    )  # fmt: skip
    return render(request, "reporting/webhooks.html", context, status=status)


@manage_page(Membership.can_manage_config)
def webhooks(request: HttpRequest, account: Account) -> HttpResponseBase:
    if request.method != "POST":
        return _list_page(request, account, WebhookForm())
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            endpoint, secret = services.webhook_create(account=account, **form.cleaned_data)
        except services.WebhookRefused as exc:
            _refused(form, exc)
        else:
            # Shown on this answer only (not after a redirect): only the sealed form is kept.
            return _detail_page(request, account, endpoint, new_secret=secret)
    return _list_page(request, account, form, status=400)


def _detail_page(
    request: HttpRequest,
    account: Account,
    endpoint: WebhookEndpoint,
    *,
    status: int = 200,
    new_secret: str = "",
    replay_form: ReplayForm | None = None,
    edit_form: WebhookForm | None = None,
) -> HttpResponse:
    now = timezone.now()
    deliveries = list(selectors.deliveries_of(endpoint)[:RECENT_DELIVERIES])
    default_since = (now - dt.timedelta(hours=1)).astimezone(timezone.get_current_timezone())
    context = _context(
        request,
        account,
        nav="webhooks",
        endpoint=endpoint,
        failures=selectors.failure_summaries([endpoint.pk], now=now)[endpoint.pk],
        deliveries=deliveries,
        previous_secret_expires_at=selectors.previous_secret_expires_at(endpoint, now=now),
        kept_since=selectors.events_kept_since(account, now=now),
        new_secret=new_secret,
        replay_form=replay_form
        or ReplayForm(initial={"since": default_since.strftime("%Y-%m-%dT%H:%M")}),
        edit_form=edit_form
        or WebhookForm(
            initial={
                "url": endpoint.url,
                "events": endpoint.events,
                "description": endpoint.description,
            }
        ),
    )
    response = render(request, "reporting/webhooks_detail.html", context, status=status)
    if new_secret:
        response["Cache-Control"] = "no-store"
    return response


@manage_page(Membership.can_manage_config)
def webhook_detail(request: HttpRequest, account: Account, webhook_id: int) -> HttpResponseBase:
    endpoint = _endpoint(account, webhook_id)
    if request.method != "POST":
        return _detail_page(request, account, endpoint)
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            services.webhook_update(endpoint=endpoint, **form.cleaned_data)
        except services.WebhookRefused as exc:
            _refused(form, exc)
        else:
            messages.success(request, "Saved the endpoint.")
            return redirect("dashboard-webhook", account.pk, endpoint.pk)
    return _detail_page(request, account, endpoint, status=400, edit_form=form)


@require_POST
@manage_page(Membership.can_manage_config)
def webhook_replay(request: HttpRequest, account: Account, webhook_id: int) -> HttpResponseBase:
    endpoint = _endpoint(account, webhook_id)
    form = ReplayForm(request.POST)
    if form.is_valid():
        try:
            replay = services.webhook_replay(endpoint=endpoint, since=form.cleaned_data["since"])
        except services.WebhookRefused as exc:
            _refused(form, exc)
        else:
            messages.success(
                request,
                f"Queued {replay.deliveries:,} deliveries again ({replay.created:,} new).",
            )
            return redirect("dashboard-webhook", account.pk, endpoint.pk)
    return _detail_page(request, account, endpoint, status=400, replay_form=form)


@require_POST
@manage_page(Membership.can_manage_config)
def webhook_rotate(request: HttpRequest, account: Account, webhook_id: int) -> HttpResponseBase:
    endpoint, secret = services.webhook_secret_rotate(endpoint=_endpoint(account, webhook_id))
    return _detail_page(request, account, endpoint, new_secret=secret)


@require_POST
@manage_page(Membership.can_manage_config)
def webhook_test(request: HttpRequest, account: Account, webhook_id: int) -> HttpResponseBase:
    endpoint = _endpoint(account, webhook_id)
    try:
        services.webhook_test_send(endpoint=endpoint)
    except services.WebhookRefused as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Queued a webhook.test event: its delivery shows below.")
    return redirect("dashboard-webhook", account.pk, endpoint.pk)


@require_POST
@manage_page(Membership.can_manage_config)
def webhook_enable(request: HttpRequest, account: Account, webhook_id: int) -> HttpResponseBase:
    enable = request.POST.get("is_enabled") == "true"
    endpoint = services.webhook_update(
        endpoint=_endpoint(account, webhook_id),
        is_enabled=enable,
        disabled_by=f"in the dashboard by {request.user.get_username()}",
    )
    messages.success(request, "Enabled the endpoint." if enable else "Disabled the endpoint.")
    return redirect("dashboard-webhook", account.pk, endpoint.pk)


@require_POST
@manage_page(Membership.can_manage_config)
def webhook_delete(request: HttpRequest, account: Account, webhook_id: int) -> HttpResponseBase:
    endpoint = _endpoint(account, webhook_id)
    url = endpoint.url
    services.webhook_delete(endpoint=endpoint)
    messages.success(request, f"Deleted the endpoint {url}.")
    return redirect("dashboard-webhooks", account.pk)
