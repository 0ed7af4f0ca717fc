"""Conversions, their adjustments, the postback log and fraud flags in Django admin: all
read-only (a conversion's approval and amounts change through the API or the dashboard,
kept as adjustments: attribution.adjustments)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from attribution.models import Conversion, ConversionAdjustment, FraudFlag, PostbackLog
from links.admin import ReadOnlyAdmin


class ConversionAdjustmentInline(admin.TabularInline):
    """Every change of the conversion's approval or amounts, newest first; evidence, so
    never added, changed or deleted here."""

    model = ConversionAdjustment
    fields = [
        "created_at", "source", "approval_before", "approval_after", "revenue_before",
        "revenue_after", "payout_before", "payout_after", "reason", "actor", "postback_log",
    ]  # fmt: skip
    readonly_fields = fields
    ordering = ["-created_at", "-pk"]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Conversion)
class ConversionAdmin(ReadOnlyAdmin):
    inlines = [ConversionAdjustmentInline]
    list_display = [
        "id",
        "event",
        "approval",
        "revenue",
        "payout",
        "currency",
        "status",
        "attribution_type",
        "offer",
        "occurred_at",
    ]
    list_filter = ["approval", "status", "attribution_type", "event", "account"]
    search_fields = ["=txn_id", "=reported_click_id"]
    list_select_related = ["offer"]
    date_hierarchy = "occurred_at"


@admin.register(PostbackLog)
class PostbackLogAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "endpoint", "method", "outcome", "http_status", "reason", "ip"]
    list_filter = ["outcome", "endpoint", "http_status"]
    search_fields = ["query", "body"]
    date_hierarchy = "received_at"


@admin.register(FraudFlag)
class FraudFlagAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "key", "account", "ip", "campaign", "evidence"]
    list_filter = ["kind", "account"]
    search_fields = ["key", "=ip"]
    list_select_related = ["account", "campaign"]
    date_hierarchy = "created_at"
