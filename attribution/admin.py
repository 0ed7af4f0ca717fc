"""Conversions, their adjustments, imports, reconciliations, the postback log and fraud
flags in Django admin: all read-only (a conversion's approval and amounts change through
the API or the dashboard, kept as adjustments: attribution.adjustments)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from attribution.models import (
    Conversion,
    ConversionAdjustment,
    ConversionImport,
    FraudFlag,
    PostbackLog,
    Reconciliation,
    ReconciliationRow,
)
from links.admin import ReadOnlyAdmin


class ReadOnlyInline(admin.TabularInline):
    """Rows shown with their parent, never added, changed or deleted here."""

    extra = 0
    can_delete = False
    max_num = 0

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ConversionAdjustmentInline(ReadOnlyInline):
    """Every change of the conversion's approval or amounts, newest first; evidence."""

    model = ConversionAdjustment
    fields = [
        "created_at", "source", "approval_before", "approval_after", "revenue_before",
        "revenue_after", "payout_before", "payout_after", "reason", "actor", "postback_log",
    ]  # fmt: skip
    readonly_fields = fields
    ordering = ["-created_at", "-pk"]
    show_change_link = False


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


@admin.register(ConversionImport)
class ConversionImportAdmin(ReadOnlyAdmin):
    """CSV imports as they ran (POST /api/v1/conversions/import, the dashboard's upload):
    their counts and rejected rows; the file itself is not shown."""

    list_display = [
        "id", "created_at", "account", "status", "dry_run", "rows", "created", "updated",
        "unchanged", "filename",
    ]  # fmt: skip
    list_filter = ["status", "dry_run", "account"]
    exclude = ["body"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"


class ReconciliationRowInline(ReadOnlyInline):
    model = ReconciliationRow
    fields = [
        "bucket", "line", "txn_id", "click_id", "conversion", "network_approval",
        "network_revenue", "network_payout", "trackly_approval", "trackly_revenue",
        "trackly_payout", "restated",
    ]  # fmt: skip
    readonly_fields = fields


@admin.register(Reconciliation)
class ReconciliationAdmin(ReadOnlyAdmin):
    """Network reports compared with Trackly's conversions (POST /api/v1/reconciliations);
    restating is done from the API or the dashboard, never here."""

    inlines = [ReconciliationRowInline]
    list_display = ["id", "created_at", "account", "preset", "start", "end", "restated_at"]
    list_filter = ["preset", "account"]
    list_select_related = ["account"]
    date_hierarchy = "created_at"
