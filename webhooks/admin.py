"""Django admin of the delivery log, read-only: each delivery with its attempts. Staff who
are not superusers see only their accounts' (through the endpoint's account)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin_scope import ScopedFormFields, TenantScopedAdmin, unrestricted
from core.models import Account
from webhooks.models import WebhookAttempt, WebhookDelivery


class WebhookAttemptInline(ScopedFormFields, admin.TabularInline):
    model = WebhookAttempt
    fields = ["attempted_at", "status_code", "latency_ms", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-attempted_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(TenantScopedAdmin):
    list_display = ["msg_id", "endpoint", "event", "status", "attempts", "last_status_code",
                    "next_attempt_at", "delivered_at", "created_at"]  # fmt: skip
    list_filter = ["status"]
    search_fields = ["msg_id", "endpoint__url"]
    list_select_related = ["endpoint", "event"]
    fields = ["msg_id", "endpoint", "event", "status", "attempts", "last_status_code",
              "last_error", "next_attempt_at", "delivered_at", "created_at"]  # fmt: skip
    readonly_fields = fields
    inlines = [WebhookAttemptInline]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # A delivery's account is its endpoint's (scoped() knows only an `account` field).
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if unrestricted(request):
            return queryset
        accounts = Account.objects.configured_by(request.user)
        return queryset.filter(endpoint__account__in=accounts.values("pk"))

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
