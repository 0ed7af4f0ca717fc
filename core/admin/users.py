"""Django admin of users and of what belongs to no account (groups, django-axes' login
attempts): superusers only, except that staff see the members of their accounts."""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest

from core.admin_scope import (
    SuperuserOnlyAdmin,
    TenantScopedAdmin,
    unrestricted,
)

# Users and what belongs to no account -------------------------------------------------

User = get_user_model()
admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class ScopedUserAdmin(TenantScopedAdmin, UserAdmin):
    """Superusers manage users. Other staff only see the members of their accounts (to
    pick them in Memberships) and change none: a user may belong to other accounts too, and
    their password or flags are not one account's to change."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return unrestricted(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return unrestricted(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return unrestricted(request) and super().has_delete_permission(request, obj)


@admin.register(Group)
class SuperuserGroupAdmin(SuperuserOnlyAdmin, GroupAdmin):
    pass


# Login attempts (django-axes): every tenant's usernames and IPs.
@admin.register(AccessAttempt)
class SuperuserAccessAttemptAdmin(SuperuserOnlyAdmin, AccessAttemptAdmin):
    pass


@admin.register(AccessLog)
class SuperuserAccessLogAdmin(SuperuserOnlyAdmin, AccessLogAdmin):
    pass


@admin.register(AccessFailureLog)
class SuperuserAccessFailureLogAdmin(SuperuserOnlyAdmin, AccessFailureLogAdmin):
    pass
