"""Django admin for links and clicks, scoped to the staff user's accounts."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from core.admin_scope import TenantScopedAdmin
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick


class ReadOnlyAdmin(TenantScopedAdmin):
    """Clicks are evidence: admins read them, nobody edits them by hand."""

    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MessageShortLink)
class MessageShortLinkAdmin(ReadOnlyAdmin):
    list_display = ["link_id", "name", "message", "offer", "destination_url", "created_at"]
    search_fields = ["=link_id", "destination_url"]
    list_select_related = ["message", "offer"]
    list_filter = ["account"]


@admin.register(MessageShortLinkClick)
class MessageShortLinkClickAdmin(ReadOnlyAdmin):
    list_display = [
        "click_id",
        "short_link",
        "clicked_at",
        "ip",
        "method",
        "is_bot",
        "bot_reason",
        "user_agent",
    ]
    list_filter = ["is_bot", "method", "bot_reason"]
    search_fields = ["=click_id", "=short_link__link_id", "=ip"]
    list_select_related = ["short_link"]
    date_hierarchy = "clicked_at"


@admin.register(MessageClick)
class MessageClickAdmin(ReadOnlyAdmin):
    list_display = ["message", "contact", "short_link", "offer", "clicked_at"]
    search_fields = ["=click_id", "=short_link__link_id"]
    list_select_related = ["message", "contact", "short_link", "offer"]
    date_hierarchy = "clicked_at"
