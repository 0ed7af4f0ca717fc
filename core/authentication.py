"""API keys for the sending platform: `Authorization: Bearer trk_<prefix>_<secret>`."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from core.models import Account, ApiKey

logger = logging.getLogger(__name__)
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


class ApiClient:
    """The authenticated party of an API request: an account, through one of its keys."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.account: Account = api_key.account

    def __str__(self) -> str:
        return f"api key {self.api_key.prefix} of account {self.account.pk}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ApiClient, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        raw = raw.strip()
        if scheme.lower() != "bearer" or not raw:
            raise exceptions.AuthenticationFailed("Use 'Authorization: Bearer <api key>'.")
        prefix = ApiKey.prefix_of(raw)
        key = (
            ApiKey.objects.active().select_related("account").filter(prefix=prefix).first()
            if prefix
            else None
        )
        # The prefix only finds the row; the secret is checked by comparing hashes in
        # constant time.
        if key is None or not key.matches(raw):
            logger.info("api: rejected key with prefix %r", prefix)
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return ApiClient(key), key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class HasAccount(permissions.BasePermission):
    """An API key of an account, holding a scope the view accepts for the method.

    Each API view names the scopes it accepts: `read_scopes` for GET and HEAD (any one of
    them), `write_scopes` for everything else. A view that names none is closed, so a new
    endpoint cannot be left open by forgetting to scope it.
    """

    def has_permission(self, request: Request, view: object) -> bool:
        if not isinstance(request.user, ApiClient):
            return False
        accepted = view_scopes(view, request.method or "GET")
        if not any(request.user.api_key.has_scope(scope) for scope in accepted):
            needed = " or ".join(f"'{scope}'" for scope in accepted) or "a scope"
            raise exceptions.PermissionDenied(f"This API key lacks the {needed} scope.")
        return True


def view_scopes(view: object, method: str) -> tuple[str, ...]:
    if method in permissions.SAFE_METHODS:
        return tuple(getattr(view, "read_scopes", ()))
    return tuple(getattr(view, "write_scopes", ()))


def account_of(request: Request) -> Account:
    return request.user.account
