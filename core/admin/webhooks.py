"""Django admin of webhook endpoints, tenant-scoped: what each endpoint is and its state,
never its secrets (not even sealed). Endpoints are added, re-keyed, enabled and disabled in
the dashboard or the API (webhooks.services: the URL rule, the secret shown once); here
only the description changes, and an endpoint can be deleted."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin_scope import TenantScopedAdmin
from core.models import WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(TenantScopedAdmin):
    list_display = ["url", "account", "is_enabled", "failing_since", "disabled_at", "created_at"]
    list_filter = ["is_enabled", "account"]
    search_fields = ["url", "description", "account__name"]
    list_select_related = ["account"]
    fields = [
        "account",
        "url",
        "events",
        "description",
        "is_enabled",
        "disabled_at",
        "disabled_reason",
        "failing_since",
        "previous_secret_until",
        "created_at",
        "updated_at",
    ]
    readonly_fields = [name for name in fields if name != "description"]

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False
