"""The dashboard's access pages: an account's API keys (its admins and owners) and its
members (its owners). Other members get 403 on the pages and on their forms; other
accounts are a 404, as everywhere in the dashboard. The rules are Membership's (who may)
and core.access's (what every path must respect)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from core.access import (
    NAME_MAX_LENGTH,
    AccessError,
    api_key_issue,
    api_key_revoke,
    membership_add,
    membership_remove,
    membership_role_change,
)
from core.models import Account, ApiKey, ApiScope, Membership
from reporting import dashboard
from reporting.pages import request_membership

View = Callable[..., HttpResponseBase]


def manage_page(rule: Callable[[Membership], bool]) -> Callable[[View], View]:
    """Login required; the account must be the user's (else 404) and the user's role must
    pass `rule` (else a 403 page), for the page and its forms alike."""

    def decorate(view: View) -> View:
        @login_required
        @require_http_methods(["GET", "HEAD", "POST"])
        @wraps(view)
        def wrapper(request: HttpRequest, account_id: int, **kwargs: Any) -> HttpResponseBase:
            membership = request_membership(request, account_id)
            if not rule(membership):
                return render(
                    request,
                    "reporting/forbidden.html",
                    _context(request, membership.account, nav=""),
                    status=403,
                )
            with timezone.override(membership.account.time_zone):
                return view(request, membership.account, **kwargs)

        return wrapper

    return decorate


def _context(request: HttpRequest, account: Account, *, nav: str, **extra: Any) -> dict:
    return {
        "account": account,
        "accounts": dashboard.member_accounts(request.user),
        "membership": request.membership,
        "nav": nav,
        **extra,
    }


def _refused(form: forms.Form, exc: AccessError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


# API keys -----------------------------------------------------------------------------


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH)
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices, widget=forms.CheckboxSelectMultiple, initial=ApiScope.values
    )


def _api_keys_page(
    request: HttpRequest, account: Account, form: ApiKeyForm, status: int = 200, **extra: Any
) -> HttpResponse:
    keys = ApiKey.objects.filter(account=account).order_by("revoked_at", "-created_at")
    context = _context(request, account, nav="api-keys", keys=keys, form=form, **extra)
    return render(request, "reporting/api_keys.html", context, status=status)


@manage_page(Membership.can_manage_config)
def api_keys(request: HttpRequest, account: Account) -> HttpResponseBase:
    if request.method != "POST":
        return _api_keys_page(request, account, ApiKeyForm())
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        try:
            key, raw = api_key_issue(
                account=account, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"]
            )
        except AccessError as exc:
            _refused(form, exc)
        else:
            # Shown on this answer only (not after a redirect): only the hash is kept.
            response = _api_keys_page(request, account, ApiKeyForm(), new_key=key, new_raw=raw)
            response["Cache-Control"] = "no-store"
            return response
    return _api_keys_page(request, account, form, status=400)


@require_POST
@manage_page(Membership.can_manage_config)
def api_key_revoke_view(request: HttpRequest, account: Account, key_id: int) -> HttpResponseBase:
    key = get_object_or_404(ApiKey, pk=key_id, account=account)
    api_key_revoke(key=key)
    messages.success(request, f"Revoked {key}: it is refused from now on.")
    return redirect("dashboard-api-keys", account.pk)


# Members ------------------------------------------------------------------------------


class MemberAddForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)


def _members_page(
    request: HttpRequest,
    account: Account,
    form: MemberAddForm | None = None,
    *,
    status: int = 200,
    error: str = "",
) -> HttpResponse:
    members = (
        Membership.objects.filter(account=account).select_related("user").order_by("user__username")
    )
    context = _context(
        request, account, nav="members", members=members, roles=Membership.Role.choices,
        form=form or MemberAddForm(), error=error,
    )  # fmt: skip
    return render(request, "reporting/members.html", context, status=status)


@manage_page(Membership.can_manage_members)
def members(request: HttpRequest, account: Account) -> HttpResponseBase:
    if request.method != "POST":
        return _members_page(request, account)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            added = membership_add(
                account=account,
                username=form.cleaned_data["username"],
                role=form.cleaned_data["role"],
            )
        except AccessError as exc:
            _refused(form, exc)
        else:
            messages.success(request, f"Added {added.user} as {added.get_role_display()}.")
            return redirect("dashboard-members", account.pk)
    return _members_page(request, account, form, status=400)


@require_POST
@manage_page(Membership.can_manage_members)
def member_role(request: HttpRequest, account: Account, membership_id: int) -> HttpResponseBase:
    membership = get_object_or_404(Membership, pk=membership_id, account=account)
    form = RoleForm(request.POST)
    if not form.is_valid():
        return _members_page(request, account, status=400, error=_first_error(form))
    try:
        changed = membership_role_change(membership=membership, role=form.cleaned_data["role"])
    except AccessError as exc:
        return _members_page(request, account, status=exc.status, error=exc.message)
    messages.success(request, f"{changed.user} is now {changed.get_role_display()}.")
    return _after_change(request, account)


@require_POST
@manage_page(Membership.can_manage_members)
def member_remove(request: HttpRequest, account: Account, membership_id: int) -> HttpResponseBase:
    membership = get_object_or_404(Membership, pk=membership_id, account=account)
    try:
        membership_remove(membership=membership)
    except AccessError as exc:
        return _members_page(request, account, status=exc.status, error=exc.message)
    messages.success(request, f"Removed {membership.user} from {account}.")
    return _after_change(request, account)


def _after_change(request: HttpRequest, account: Account) -> HttpResponseBase:
    # An owner who just demoted or removed themselves can no longer see the Members page.
    mine = dashboard.membership_of(request.user, account.pk)
    if mine is None:
        return redirect("dashboard-home")
    if not mine.can_manage_members():
        return redirect("dashboard-overview", account.pk)
    return redirect("dashboard-members", account.pk)


def _first_error(form: forms.Form) -> str:
    return next(f"{field}: {errors[0]}" for field, errors in form.errors.items())
