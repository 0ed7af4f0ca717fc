"""Django admin of what an account owns: tracking domains, interstitial templates, contacts,
lists (their bot-detection switch), campaigns, creatives, offers (postback secrets shown
once) and messages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from core import bounds, routing_rules
from core.admin_scope import (
    TenantScopedAdmin,
)
from core.models import (
    Campaign,
    Contact,
    Creative,
    HoldoutMessage,
    InterstitialTemplate,
    Message,
    Offer,
    SendingList,
    TrackingDomain,
)
from core.services import sending_list_bot_detection_switch


@admin.register(TrackingDomain)
class TrackingDomainAdmin(TenantScopedAdmin):
    list_display = ["host", "account", "https", "is_primary", "is_active", "fallback_url"]
    list_filter = ["is_active", "https"]
    search_fields = ["host", "account__name"]
    list_select_related = ["account"]


@admin.register(InterstitialTemplate)
class InterstitialTemplateAdmin(TenantScopedAdmin):
    list_display = ["name", "account", "title", "cta_text"]
    list_filter = ["account"]
    search_fields = ["name", "title"]


@admin.register(Contact)
class ContactAdmin(TenantScopedAdmin):
    # Saving one sends post_save: links.signals bumps the redirect's config (is_test).
    list_display = ["external_id", "phone", "email", "is_test", "account", "created_at"]
    list_filter = ["is_test", "account"]
    search_fields = ["external_id", "phone", "email"]
    list_select_related = ["account"]
    show_full_result_count = False


@admin.register(SendingList)
class SendingListAdmin(TenantScopedAdmin):
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
        "is_test",
        "datacenter_check",
    ]
    list_filter = ["bot_detection_enabled", "is_test", "datacenter_check", "account"]
    search_fields = ["name", "external_id"]
    list_select_related = ["account", "default_interstitial"]


def routing_checked(parse: Any, value: Any) -> Any:
    """A routing input as stored (core.routing_rules), else the form's error saying why."""
    try:
        return parse(value)
    except routing_rules.RoutingInvalid as exc:
        raise ValidationError(str(exc)) from exc


class CampaignAdminForm(forms.ModelForm):
    # No Meta: the admin builds the form from its model's fields.
    def clean_utm_template(self) -> str:
        return routing_checked(routing_rules.utm_template_parse, self.cleaned_data["utm_template"])


@admin.register(Campaign)
class CampaignAdmin(TenantScopedAdmin):
    form = CampaignAdminForm
    list_display = ["name", "external_id", "account", "created_at"]
    list_filter = ["account"]
    search_fields = ["name", "external_id"]
    date_hierarchy = "created_at"


@admin.register(Creative)
class CreativeAdmin(TenantScopedAdmin):
    list_display = ["name", "external_id", "campaign", "account", "created_at"]
    list_filter = ["account"]
    search_fields = ["name", "external_id", "campaign__name"]
    list_select_related = ["campaign", "account"]


class OfferAdminForm(forms.ModelForm):
    # No Meta: the admin builds the form from its fieldsets.
    def clean_variants(self) -> list[dict[str, Any]]:
        return routing_checked(routing_rules.variants_parse, self.cleaned_data["variants"])

    def clean_rules(self) -> list[dict[str, str]]:
        return routing_checked(routing_rules.rules_parse, self.cleaned_data["rules"])


@admin.register(Offer)
class OfferAdmin(TenantScopedAdmin):
    form = OfferAdminForm
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
        ("Routing", {"fields": ["variants", "rules"]}),
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


class MessageAdminForm(forms.ModelForm):
    def clean_sent_at(self) -> Any:
        sent_at = self.cleaned_data["sent_at"]
        try:
            # As minting holds it: a year-1 sent_at once broke every account's rollups.
            bounds.moment_check(
                "sent_at", sent_at, now=timezone.now(), ahead=bounds.SENT_AT_MAX_AHEAD
            )
        except bounds.OutOfBounds as exc:
            raise ValidationError(exc.message) from None
        return sent_at


@admin.register(Message)
class MessageAdmin(TenantScopedAdmin):
    form = MessageAdminForm
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
    # The cost is fixed at mint (core.costs): changing the account's rates never reprices.
    readonly_fields = ["body", "rewritten_body", "segments", "cost", "created_at"]
    date_hierarchy = "sent_at"
    show_full_result_count = False


@admin.register(HoldoutMessage)
class HoldoutMessageAdmin(TenantScopedAdmin):
    """Holdouts as the mint API recorded them; read-only: the lift report reads them as
    the sending platform said them."""

    list_display = ["id", "external_id", "contact", "channel", "campaign", "offers", "sent_at"]
    list_filter = ["channel", "account"]
    search_fields = ["external_id", "contact__external_id", "contact__phone"]
    list_select_related = ["contact", "campaign"]
    date_hierarchy = "sent_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
