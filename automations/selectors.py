"""Reads of automations shared by the API and the dashboard: each with its run counts."""

from __future__ import annotations

from django.db.models import Count, Max, Q, QuerySet

from automations.models import Automation, AutomationRun
from core.models import Account

FIRED = AutomationRun.Status.FIRED
SKIPPED = AutomationRun.Status.SKIPPED


def automations_counted(account: Account) -> QuerySet[Automation]:
    """The account's automations with `fired_count`, `skipped_count` and `last_fired_at`."""
    return Automation.objects.filter(account=account).annotate(
        fired_count=Count("runs", filter=Q(runs__status=FIRED)),
        skipped_count=Count("runs", filter=Q(runs__status=SKIPPED)),
        last_fired_at=Max("runs__fired_at"),
    )


def runs_recent(automation: Automation, *, limit: int = 100) -> list[AutomationRun]:
    return list(
        AutomationRun.objects.filter(automation=automation)
        .select_related("contact", "message")
        .order_by("-created_at", "-id")[:limit]
    )
