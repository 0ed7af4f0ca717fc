"""The tracking-domains API: `GET`/`POST /api/v1/domains`, `GET`/`PATCH /api/v1/domains/<id>`.

A domain is `{"id", "host", "fallback_url", "is_active", "apple_app_site_association",
"android_asset_links"}`; read with a `config` or `read` key, changed only with `config`
(core.api.AccountViewSet), scoped to the key's account. The host is a DNS name alone
(core.hostnames), stored lower-case, and unique across every account: a taken host is a
400 that never says whose. The app-links files are a JSON object and a JSON array, each at
most core.bounds.MAX_APP_LINKS_BYTES. A saved domain bumps the link config
(links.signals), so the redirect, the app-links files and Caddy's ask (trackly.tls) see it
at once. No DELETE: turn `is_active` off (a host's short links keep their meaning).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Model
from rest_framework import serializers

from core import bounds
from core.api import AccountModelSerializer, AccountViewSet, UriField, validate_http_url
from core.hostnames import host_problem
from core.models import TrackingDomain, normalize_host

HOST_TAKEN = "This host is already a tracking domain."


def app_links_value(value: Any, kind: type, what: str) -> Any:
    """`value` when it is null or a JSON `what` (a dict or list) within the size bound."""
    if value is None:
        return None
    if not isinstance(value, kind):
        raise serializers.ValidationError(f"Must be a JSON {what} (or null).")
    size = len(json.dumps(value, separators=(",", ":")).encode())
    if size > bounds.MAX_APP_LINKS_BYTES:
        raise serializers.ValidationError(
            f"Must be at most {bounds.MAX_APP_LINKS_BYTES:,} bytes as JSON; this is {size:,}."
        )
    return value


class TrackingDomainSerializer(AccountModelSerializer):
    host = serializers.CharField(max_length=300, help_text="The hostname alone: go.brand.com.")
    fallback_url = UriField(
        max_length=2000, required=False, allow_blank=True, validators=[validate_http_url]
    )
    apple_app_site_association = serializers.JSONField(
        required=False, allow_null=True, help_text="A JSON object, or null (404)."
    )
    android_asset_links = serializers.JSONField(
        required=False, allow_null=True, help_text="A JSON array, or null (404)."
    )

    class Meta:
        model = TrackingDomain
        fields = [
            "id",
            "host",
            "fallback_url",
            "is_active",
            "apple_app_site_association",
            "android_asset_links",
        ]

    def validate_host(self, value: str) -> str:
        raw = value.strip().lower()
        problem = host_problem(raw)
        if problem is not None:
            raise serializers.ValidationError(problem)
        host = normalize_host(raw)
        if host in settings.APP_HOSTS:
            raise serializers.ValidationError("This host is Trackly's own (an app host).")
        taken = TrackingDomain.objects.filter(host=host)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(HOST_TAKEN)
        return host

    def validate_apple_app_site_association(self, value: Any) -> Any:
        return app_links_value(value, dict, "object")

    def validate_android_asset_links(self, value: Any) -> Any:
        return app_links_value(value, list, "array")

    def _save(self, write: Any) -> Model:
        # Race: two requests may claim one free host at once; the unique column decides,
        # and the loser gets the same 400 as if it had been taken before.
        try:
            with transaction.atomic():
                return write()
        except IntegrityError as exc:
            raise serializers.ValidationError({"host": [HOST_TAKEN]}) from exc


class TrackingDomainViewSet(AccountViewSet):
    model = TrackingDomain
    serializer_class = TrackingDomainSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
