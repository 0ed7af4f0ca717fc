from __future__ import annotations

from django.contrib import admin

from attribution.models import Conversion, FraudFlag, PostbackLog
from links.admin import ReadOnlyAdmin


@admin.register(Conversion)
class ConversionAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "event",
        "revenue",
        "currency",
        "status",
        "attribution_type",
        "offer",
        "occurred_at",
    ]
    list_filter = ["status", "attribution_type", "event", "account"]
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
