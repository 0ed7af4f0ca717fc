"""Django admin, tenant-scoped: staff who are not superusers see, change and pick only
objects of the accounts they configure (Membership role admin or owner).

Every ModelAdmin is a TenantScopedAdmin (account objects) or a SuperuserOnlyAdmin (what
belongs to no account: groups, login attempts). Django's model permissions still decide
which kinds of object a staff user may touch at all; this decides which rows.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from core.models import Account


def unrestricted(request: HttpRequest) -> bool:
    return request.user.is_superuser


def account_field(model: type[models.Model]) -> str | None:
    """The lookup from `model` to its account: `pk` for Account, `account` for a model with
    an account foreign key, None for a model that belongs to no account."""
    if model is Account:
        return "pk"
    try:
        field = model._meta.get_field("account")
    except FieldDoesNotExist:
        return None
    return "account" if getattr(field, "related_model", None) is Account else None


def scoped(queryset: QuerySet, user: Any) -> QuerySet:
    """The rows of `queryset` a non-superuser staff user may see: their accounts' (none of
    a model that belongs to no account, except users: those of their accounts)."""
    accounts = Account.objects.configured_by(user)
    lookup = account_field(queryset.model)
    if lookup is not None:
        return queryset.filter(**{f"{lookup}__in": accounts.values("pk")})
    if queryset.model is get_user_model():
        members = queryset.model.objects.filter(memberships__account__in=accounts.values("pk"))
        return queryset.filter(pk__in=members.values("pk"))
    return queryset.none()


class ScopedRelatedFieldListFilter(admin.RelatedFieldListFilter):
    """A foreign key's filter whose choices are only rows the staff user may see (else the
    list names every account's)."""

    def field_choices(self, field: Any, request: HttpRequest, model_admin: Any) -> list:
        if unrestricted(request):
            return super().field_choices(field, request, model_admin)
        rows = scoped(field.related_model._default_manager.all(), request.user)
        return [(row.pk, str(row)) for row in rows]


class ScopedFormFields:
    """Foreign-key choices (selects, raw ids, autocompletes) limited to the user's rows; for
    ModelAdmins and inlines alike (an inline's rows are its parent's, already scoped)."""

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if not unrestricted(request) and "queryset" not in kwargs:
            kwargs["queryset"] = scoped(db_field.related_model._default_manager.all(), request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class TenantScopedAdmin(ScopedFormFields, admin.ModelAdmin):
    """A ModelAdmin of an account's objects."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        return queryset if unrestricted(request) else scoped(queryset, request.user)

    def get_list_filter(self, request: HttpRequest) -> Any:
        filters = []
        for entry in super().get_list_filter(request):
            if isinstance(entry, str) and self._is_relation(entry):
                entry = (entry, ScopedRelatedFieldListFilter)
            filters.append(entry)
        return filters

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return super().has_add_permission(request, *args) and (
            unrestricted(request) or Account.objects.configured_by(request.user).exists()
        )

    def _is_relation(self, name: str) -> bool:
        try:
            return self.model._meta.get_field(name).is_relation
        except FieldDoesNotExist:  # a lookup path such as campaign__name: left alone
            return False


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """What belongs to no account: superusers only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return unrestricted(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return unrestricted(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return unrestricted(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return unrestricted(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return unrestricted(request)
