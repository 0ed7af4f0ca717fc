"""Fraud flags: one per incident, for a person to look at (the dashboard's Fraud page).

- `click_flood` (raised by attribution.bot_checks): one IP opened the links of many
  contacts (the `behaviour:ip-fanout` rule).
- `click_rate`: a campaign whose raw clicks exceed FRAUD_CLICK_RATE_MAX of its sends.
- `click_injection`: a conversion reported within FRAUD_CLICK_INJECTION_SECONDS of the click
  it is credited to (the click was likely injected).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db.models import Count, F

from attribution.models import Conversion, FraudFlag
from core.models import Campaign


def flag_raise(
    *,
    account_id: int,
    kind: str,
    key: str,
    evidence: dict,
    ip: str | None = None,
    campaign_id: int | None = None,
    conversion_id: int | None = None,
    raw_click_id: int | None = None,
) -> FraudFlag:
    # One flag per incident, also when two workers raise it at once (unique constraint).
    flag, _ = FraudFlag.objects.update_or_create(
        account_id=account_id,
        kind=kind,
        key=key[:200],
        defaults={
            "evidence": evidence,
            "ip": ip,
            "campaign_id": campaign_id,
            "conversion_id": conversion_id,
            "raw_click_id": raw_click_id,
        },
    )
    return flag


def campaigns_click_rate_check(account_ids: Iterable[int] | None = None) -> int:
    """Flag campaigns whose raw clicks exceed FRAUD_CLICK_RATE_MAX of their sends."""
    limit = settings.FRAUD_CLICK_RATE_MAX
    campaigns = Campaign.objects.annotate(
        sends=Count("messages", distinct=True),
        raw_clicks=Count("messages__raw_clicks", distinct=True),
    ).filter(sends__gte=settings.FRAUD_CLICK_RATE_MIN_SENDS, raw_clicks__gt=F("sends") * limit)
    if account_ids is not None:
        campaigns = campaigns.filter(account_id__in=list(account_ids))
    raised = 0
    for campaign in campaigns:
        flag_raise(
            account_id=campaign.account_id,
            kind=FraudFlag.Kind.CLICK_RATE,
            key=f"campaign:{campaign.pk}",
            campaign_id=campaign.pk,
            evidence={
                "campaign": campaign.name,
                "sends": campaign.sends,
                "raw_clicks": campaign.raw_clicks,
                "raw_click_rate": round(campaign.raw_clicks / campaign.sends, 4),
                "threshold": limit,
            },
        )
        raised += 1
    return raised


def conversion_injection_check(conversion: Conversion) -> FraudFlag | None:
    """A conversion reported seconds after its click: the click was likely injected."""
    credited = conversion.message_click
    if credited is None:
        return None
    seconds = (conversion.occurred_at - credited.clicked_at).total_seconds()
    if seconds >= settings.FRAUD_CLICK_INJECTION_SECONDS:
        return None
    return flag_raise(
        account_id=conversion.account_id,
        kind=FraudFlag.Kind.CLICK_INJECTION,
        key=f"conversion:{conversion.pk}",
        conversion_id=conversion.pk,
        raw_click_id=credited.raw_click_id,
        evidence={
            "seconds_after_click": round(seconds, 3),
            "threshold_seconds": settings.FRAUD_CLICK_INJECTION_SECONDS,
            "txn_id": conversion.txn_id,
        },
    )
