"""Django admin of accounts, their members and their API keys: postback tokens and keys
shown once, an account keeps its last owner (core.access)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from core import bounds, costs, routing_rules
from core.access import (
    AccessError,
    api_key_issue,
    api_key_revoke,
    membership_is_last_owner,
    membership_remove,
    membership_role_change,
)
from core.admin_scope import (
    ScopedFormFields,
    TenantScopedAdmin,
    unrestricted,
)
from core.models import (
    Account,
    ApiKey,
    InterstitialTemplate,
    Membership,
    TrackingDomain,
    all_scopes,
    validate_opt_out_patterns,
)
from core.networks import networks_normalise
from core.services import account_postback_token_rotate


class TrackingDomainInline(ScopedFormFields, admin.TabularInline):
    model = TrackingDomain
    extra = 0
    fields = ["host", "https", "port", "fallback_url", "is_primary", "is_active"]


class InterstitialTemplateInline(ScopedFormFields, admin.StackedInline):
    model = InterstitialTemplate
    extra = 0
    fields = [
        ("name", "title", "cta_text"),
        "description",
        ("og_title", "og_image"),
        "og_description",
    ]


class MembershipInline(ScopedFormFields, admin.TabularInline):
    """Members at a glance; staff who are not superusers change them in Memberships (or on
    the dashboard's Members page), where the owner rules apply."""

    model = Membership
    extra = 0
    autocomplete_fields = ["user"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return unrestricted(request) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return unrestricted(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return unrestricted(request) and super().has_delete_permission(request, obj)


class ApiKeyInline(ScopedFormFields, admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ["name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    # Revoked is final (a revoked key may have leaked): keys are revoked with the action
    # under API keys, the dashboard or the API, never un-revoked by editing the date.
    readonly_fields = ["prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # keys are made with the account action, which shows the key once


class AccountForm(forms.ModelForm):
    # No Meta: the admin builds the form from its fieldsets.
    def clean_opt_out_patterns(self) -> str:
        value = self.cleaned_data["opt_out_patterns"]
        validate_opt_out_patterns(value)
        return value

    def clean_internal_ips(self) -> list[str]:
        try:
            return networks_normalise(self.cleaned_data["internal_ips"] or [])
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc

    def clean_utm_template(self) -> str:
        try:
            return routing_rules.utm_template_parse(self.cleaned_data["utm_template"])
        except routing_rules.RoutingInvalid as exc:
            raise ValidationError(str(exc)) from exc

    def clean_sms_rates(self) -> dict[str, str]:
        try:
            return costs.sms_rates_parse(self.cleaned_data["sms_rates"] or {})
        except bounds.OutOfBounds as exc:
            raise ValidationError(exc.message) from exc

    def clean_require_postback_token(self) -> bool:
        value = self.cleaned_data["require_postback_token"]
        self.instance.validate_postback_token_requirement(value)
        return value


@admin.register(Account)
class AccountAdmin(TenantScopedAdmin):
    form = AccountForm
    list_display = [
        "name",
        "id",
        "is_active",
        "time_zone",
        "currency",
        "default_click_window_days",
        "created_at",
    ]
    list_filter = ["is_active", "time_zone"]
    search_fields = ["name", "tracking_domains__host"]
    inlines = [TrackingDomainInline, InterstitialTemplateInline, MembershipInline, ApiKeyInline]
    actions = ["issue_api_key", "rotate_postback_token"]
    fieldsets = [
        (None, {"fields": ["name", "is_active", "time_zone", "currency"]}),
        ("Attribution", {"fields": ["default_click_window_days", "opt_out_patterns"]}),
        ("Postbacks", {"fields": ["require_postback_token"]}),
        ("Bot detection", {"fields": ["bot_ip_fanout_contacts", "bot_ip_fanout_seconds"]}),
        ("Internal traffic", {"fields": ["internal_ips"]}),
        ("Routing", {"fields": ["utm_template"]}),
        (
            "Sending costs",
            {
                "fields": ["sms_segment_cost", "sms_rates", "email_cost"],
                "description": "Fixed on each message when it is minted (the mint API may "
                "give a message's own cost); changing them never reprices sent messages.",
            },
        ),
        ("Data", {"fields": ["data_retention_days", "link_retention_days", "anonymize_ips"]}),
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return unrestricted(request) and super().has_add_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting an account deletes all it has: a superuser's decision.
        return unrestricted(request) and super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Account, form: Any, change: bool) -> None:
        token = None if change else obj.rotate_postback_token()
        super().save_model(request, obj, form, change)
        if token is not None:
            self.message_user(
                request,
                f"Postback token for {obj}: {token} (copy it now: it is not shown again)",
                messages.WARNING,
            )

    @admin.action(description="Rotate postback token (shown once)")
    def rotate_postback_token(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset:
            token = account_postback_token_rotate(account)
            self.message_user(
                request,
                f"New postback token for {account}: {token} (copy it now: it is not shown "
                "again; the old one no longer works)",
                messages.WARNING,
            )

    @admin.action(description="Issue a new API key (shown once)")
    def issue_api_key(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset:
            _, raw = api_key_issue(
                account=account, name=f"admin {timezone.now():%Y-%m-%d}", scopes=all_scopes()
            )
            self.message_user(
                request,
                f"API key for {account}: {raw} (copy it now: it is not shown again)",
                messages.WARNING,
            )


@admin.register(ApiKey)
class ApiKeyAdmin(TenantScopedAdmin):
    list_display = ["__str__", "account", "scopes", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "name", "account__name"]
    readonly_fields = ["account", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    fields = ["account", "name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset.filter(revoked_at__isnull=True))
        for key in keys:
            api_key_revoke(key=key)
        self.message_user(request, f"Revoked {len(keys)} key(s).")


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "account", "role"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        # self.instance still holds the stored role here (the form's values come after).
        demoted = data.get("role") != Membership.Role.OWNER
        if self.instance.pk and demoted and membership_is_last_owner(self.instance):
            self.add_error("role", "The account's last owner: make another member owner first.")
        return data


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    """Staff who are not superusers see the members of the accounts they configure and
    change those of the accounts they own (Membership.can_manage_members), never adding
    one elsewhere; an account keeps its last owner (core.access)."""

    form = MembershipForm
    list_display = ["user", "account", "role", "created_at"]
    list_filter = ["role", "account"]
    search_fields = ["user__username", "user__email", "account__name"]
    autocomplete_fields = ["user", "account"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A membership changes role; moving it to another user or account is a new one.
        return ["user", "account"] if obj is not None else []

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "account" and not unrestricted(request):
            kwargs["queryset"] = Account.objects.members_managed_by(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and (
            unrestricted(request) or Account.objects.members_managed_by(request.user).exists()
        )

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._manages(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and not unrestricted(request) and membership_is_last_owner(obj):
            return False
        return super().has_delete_permission(request, obj) and self._manages(request, obj)

    def _manages(self, request: HttpRequest, obj: Membership | None) -> bool:
        if obj is None or unrestricted(request):
            return True
        return Account.objects.members_managed_by(request.user).filter(pk=obj.account_id).exists()

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if not unrestricted(request):
            actions.pop("delete_selected", None)  # one at a time, through the owner rule
        return actions

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        if not change or "role" not in form.changed_data:
            super().save_model(request, obj, form, change)
            return
        try:  # under the account's lock: the form's check could have raced another change
            membership_role_change(membership=obj, role=obj.role)
        except AccessError as exc:
            self.message_user(request, exc.message, messages.ERROR)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        if unrestricted(request):
            super().delete_model(request, obj)
            return
        try:
            membership_remove(membership=obj)
        except AccessError as exc:
            self.message_user(request, exc.message, messages.ERROR)
