"""The automations API (`config` scope): create, list, read, change and delete an account's
automations, and list an automation's runs. Another account's automation is a 404; a
trigger or action naming another account's campaign, offer, audience or webhook is a 400
naming the key (automations.rules)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from automations.models import Automation, AutomationRun
from automations.rules import RuleError, action_clean, trigger_clean
from automations.selectors import automations_counted
from core import bounds
from core.api import AccountModelSerializer
from core.authentication import account_of
from core.models import ApiScope


def _rule_checked(clean: Any, value: Any, account_id: int) -> dict[str, Any]:
    try:
        return clean(value, account_id=account_id)
    except RuleError as exc:
        raise serializers.ValidationError({exc.field: [exc.message]}) from exc


class AutomationSerializer(AccountModelSerializer):
    """An automation: when `trigger` happens to a contact, after `delay_seconds`, if it
    still holds, `action` (docs/automations.md)."""

    trigger = serializers.JSONField(
        help_text='{"event": "message.clicked" | "contact.audience_entered" | '
        '"conversion.recorded", "campaign"?: id, "offer"?: id, "link"?: name, "audience"?: id}'
    )
    action = serializers.JSONField(
        help_text='{"type": "label", "add" | "remove": name} or '
        '{"type": "webhook", "webhook": id, "journey": name}'
    )
    delay_seconds = serializers.IntegerField(
        required=False, min_value=0, max_value=bounds.AUTOMATION_MAX_DELAY_SECONDS
    )
    fired_count = serializers.IntegerField(read_only=True)
    skipped_count = serializers.IntegerField(read_only=True)
    last_fired_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Automation
        fields = [
            "id",
            "name",
            "trigger",
            "delay_seconds",
            "action",
            "is_enabled",
            "fired_count",
            "skipped_count",
            "last_fired_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def _account_id(self) -> int:
        return account_of(self.context["request"]).pk

    def validate_trigger(self, value: Any) -> dict[str, Any]:
        return _rule_checked(trigger_clean, value, self._account_id())

    def validate_action(self, value: Any) -> dict[str, Any]:
        return _rule_checked(action_clean, value, self._account_id())


class AutomationRunSerializer(serializers.ModelSerializer):
    """One firing of an automation: scheduled, then fired or skipped with the reason."""

    class Meta:
        model = AutomationRun
        fields = [
            "id",
            "contact",
            "message",
            "trigger_event",
            "trigger_sequence",
            "due_at",
            "status",
            "skipped_reason",
            "fired_at",
            "created_at",
        ]


class AutomationViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = AutomationSerializer
    read_scopes = (ApiScope.CONFIG,)
    write_scopes = (ApiScope.CONFIG,)
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self) -> QuerySet:
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema has no account
            return Automation.objects.none()
        return automations_counted(account_of(self.request)).order_by("id")

    def perform_create(self, serializer: AutomationSerializer) -> None:
        serializer.save()
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    def perform_update(self, serializer: AutomationSerializer) -> None:
        serializer.save()
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)

    @extend_schema(responses={200: AutomationRunSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def runs(self, request: Request, pk: str | None = None) -> Response:
        automation = self.get_object()
        runs = AutomationRun.objects.filter(automation=automation).order_by("-created_at", "-id")
        page = self.paginate_queryset(runs)
        return self.get_paginated_response(AutomationRunSerializer(page, many=True).data)
