"""The API keys endpoints: `/api/v1/api-keys` lists and issues an account's keys,
`/api/v1/api-keys/<id>/revoke` revokes one.

API keys are configuration: read (listed, one read) with a `config` or `read` key, as every
configuration is; issued and revoked only with `config`. A listing shows prefixes and scopes,
never a key or its hash. The new key is shown
once, in the answer that issues it; only its hash is kept. The rules (a key grants and
revokes only scopes it holds) are core.access's.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.access import NAME_MAX_LENGTH, AccessError, api_key_issue, api_key_revoke
from core.api_errors import ErrorOut as Error
from core.api_input import RefuseUnknownFields, no_fields_refuse
from core.authentication import account_of
from core.models import ApiKey, ApiScope


class ApiKeySerializer(RefuseUnknownFields, serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = fields


class ApiKeyIssueSerializer(RefuseUnknownFields):
    name = serializers.CharField(max_length=NAME_MAX_LENGTH, trim_whitespace=True)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiScope.choices),
        help_text="What the key may do: mint, read, config; only scopes the calling key holds.",
    )


class ApiKeyIssued(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    api_key = serializers.CharField(help_text="Shown this once; store it.")
    created_at = serializers.DateTimeField()


def _refused(exc: AccessError) -> exceptions.APIException:
    if exc.status == status.HTTP_403_FORBIDDEN:
        return exceptions.PermissionDenied(
            {"detail": exc.message, "errors": {exc.field: [exc.message]}}
        )
    return exceptions.ValidationError({exc.field: [exc.message]})


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    read_scopes = (ApiScope.CONFIG, ApiScope.READ)
    write_scopes = (ApiScope.CONFIG,)
    serializer_class = ApiKeySerializer

    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet[ApiKey]:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema has no account
            return ApiKey.objects.none()
        return ApiKey.objects.filter(account=account_of(self.request)).order_by("id")

    @extend_schema(
        request=ApiKeyIssueSerializer,
        responses={201: ApiKeyIssued, 400: Error, 403: Error},
        description="Issue a key with the scopes given (at most those of the calling key). "
        "The key is in this answer only.",
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        given = ApiKeyIssueSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            key, raw = api_key_issue(
                account=account_of(request),
                name=given.validated_data["name"],
                scopes=given.validated_data["scopes"],
                granted_by=request.user.api_key,
            )
        except AccessError as exc:
            raise _refused(exc) from exc
        body = {
            "id": key.pk,
            "name": key.name,
            "prefix": key.prefix,
            "scopes": key.scopes,
            "api_key": raw,
            "created_at": ApiKeySerializer(key).data["created_at"],
        }
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"  # it carries a secret
        return response

    @extend_schema(request=None, responses={200: ApiKeySerializer, 403: Error, 404: Error})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Revoke a key of the account (the calling key too, if it is the one named)."""
        no_fields_refuse(request)
        key = self.get_object()
        try:
            key = api_key_revoke(key=key, revoked_by=request.user.api_key)
        except AccessError as exc:
            raise _refused(exc) from exc
        return Response(ApiKeySerializer(key).data)
