from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from links.models import InterstitialTemplate, TrackingDomain
from trackly.models import (
    Account,
    ApiKey,
    Campaign,
    Contact,
    Creative,
    Membership,
    Message,
    Offer,
    SendingList,
    validate_opt_out_patterns,
)
from trackly.services import account_postback_token_rotate, sending_list_bot_detection_switch


class TrackingDomainInline(admin.TabularInline):
    model = TrackingDomain
    extra = 0
    fields = ["host", "https", "port", "fallback_url", "is_primary", "is_active"]


class InterstitialTemplateInline(admin.StackedInline):
    model = InterstitialTemplate
    extra = 0
    fields = [
        ("name", "title", "cta_text"),
        "description",
        ("og_title", "og_image"),
        "og_description",
    ]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    fields = ["name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]
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

    def clean_require_postback_token(self) -> bool:
        value = self.cleaned_data["require_postback_token"]
        self.instance.validate_postback_token_requirement(value)
        return value


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
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
        ("Data", {"fields": ["data_retention_days"]}),
    ]

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
            _, raw = ApiKey.generate(account=account, name=f"admin {timezone.now():%Y-%m-%d}")
            self.message_user(
                request,
                f"API key for {account}: {raw} (copy it now: it is not shown again)",
                messages.WARNING,
            )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["__str__", "account", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "name", "account__name"]
    readonly_fields = ["account", "prefix", "created_at", "last_used_at"]
    fields = ["account", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} key(s).")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "role", "created_at"]
    list_filter = ["role", "account"]
    search_fields = ["user__username", "user__email", "account__name"]
    autocomplete_fields = ["user", "account"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["external_id", "phone", "email", "account", "created_at"]
    list_filter = ["account"]
    search_fields = ["external_id", "phone", "email"]
    list_select_related = ["account"]
    show_full_result_count = False


@admin.register(SendingList)
class SendingListAdmin(admin.ModelAdmin):
    def save_model(self, request: HttpRequest, obj: SendingList, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if change and "bot_detection_enabled" in form.changed_data:
            sending_list_bot_detection_switch(obj, obj.bot_detection_enabled)
            self.message_user(request, "Counted clicks of this list are being recomputed.")

    list_display = [
        "name",
        "account",
        "bot_detection_enabled",
        "default_interstitial",
        "scanner_window_seconds",
    ]
    list_filter = ["bot_detection_enabled", "account"]
    search_fields = ["name", "external_id"]
    list_select_related = ["account", "default_interstitial"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "external_id", "account", "created_at"]
    list_filter = ["account"]
    search_fields = ["name", "external_id"]
    date_hierarchy = "created_at"


@admin.register(Creative)
class CreativeAdmin(admin.ModelAdmin):
    list_display = ["name", "external_id", "campaign", "account", "created_at"]
    list_filter = ["account"]
    search_fields = ["name", "external_id", "campaign__name"]
    list_select_related = ["campaign", "account"]


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "account",
        "status",
        "interstitial_mode",
        "click_window_days",
        "default_payout",
        "updated_at",
    ]
    list_filter = ["status", "interstitial_mode", "account"]
    search_fields = ["name", "external_id", "destination_url"]
    list_select_related = ["account"]
    actions = ["rotate_postback_secret", "pause", "activate"]
    fieldsets = [
        (None, {"fields": ["account", "name", "external_id", "status", "expires_at"]}),
        ("Destination", {"fields": ["destination_url", "click_param", "fallback_url"]}),
        ("Interstitial", {"fields": ["interstitial_mode", "interstitial_template"]}),
        ("Attribution", {"fields": ["default_payout", "revenue_cap", "click_window_days"]}),
    ]

    def save_model(self, request: HttpRequest, obj: Offer, form: Any, change: bool) -> None:
        if not change:
            secret = obj.rotate_postback_secret()
            self.message_user(
                request,
                f"Postback secret for {obj.name}: {secret} (copy it now: it is not shown again)",
                messages.WARNING,
            )
        super().save_model(request, obj, form, change)

    @admin.action(description="Rotate postback secret (shown once)")
    def rotate_postback_secret(self, request: HttpRequest, queryset: QuerySet[Offer]) -> None:
        for offer in queryset:
            secret = offer.rotate_postback_secret()
            offer.save(update_fields=["postback_secret_hash", "updated_at"])
            self.message_user(
                request, f"New postback secret for {offer}: {secret}", messages.WARNING
            )

    @admin.action(description="Pause selected offers")
    def pause(self, request: HttpRequest, queryset: QuerySet[Offer]) -> None:
        for offer in queryset:
            offer.status = Offer.Status.PAUSED
            offer.save(update_fields=["status", "updated_at"])

    @admin.action(description="Activate selected offers")
    def activate(self, request: HttpRequest, queryset: QuerySet[Offer]) -> None:
        for offer in queryset:
            offer.status = Offer.Status.ACTIVE
            offer.save(update_fields=["status", "updated_at"])


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "external_id",
        "contact",
        "channel",
        "campaign",
        "creative",
        "sending_list",
        "sent_at",
    ]
    list_filter = ["channel", "account"]
    search_fields = ["external_id", "contact__external_id", "contact__phone"]
    list_select_related = ["contact", "campaign", "creative", "sending_list"]
    raw_id_fields = ["contact", "campaign", "creative", "sending_list"]
    readonly_fields = ["body", "rewritten_body", "segments", "created_at"]
    date_hierarchy = "sent_at"
    show_full_result_count = False
