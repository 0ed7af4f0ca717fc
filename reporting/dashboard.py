"""Reads behind the dashboard pages that the API does not serve: who may see which
account, the date range of a page, the postback log, a message's raw clicks, bot reasons
(from their rollup) and fraud flags. Reports come from reporting.reports, conversions and
journeys from reporting.selectors (shared with the API), never from here."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet, Sum

from attribution.models import FraudFlag, PostbackLog
from core.models import Account, Campaign, Creative, Membership, Message, Offer, SendingList
from links.bots import INTERNAL_REASON
from links.models import MessageClick, MessageShortLinkClick
from links.selectors import CLICK_TRAIT_FIELDS, click_traits_of
from reporting.metrics import ratio
from reporting.models import BotReasonRollup
from reporting.report_params import ReportFilters, day_bounds, days_parse, local_today

DEFAULT_DAYS = 30
# Bot reasons as a marketer reads them where the stored reason is jargon.
REASON_LABELS = {INTERNAL_REASON: "Internal", "": "(none given)"}


def bot_reason_label(reason: str | None, is_bot: bool | None = True) -> str | None:
    """A bot click's reason as the dashboard shows it: test and internal traffic (links.bots
    INTERNAL) as "Internal", others as stored; a person's click or a non-click as given."""
    if reason is None or not is_bot:
        return reason
    return REASON_LABELS.get(reason, reason)


def member_accounts(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    """The accounts a dashboard user belongs to (Membership); every page is scoped by it."""
    if not user.is_authenticated:
        return Account.objects.none()
    return Account.objects.filter(memberships__user=user, is_active=True).order_by("name", "id")


def membership_of(user: AbstractBaseUser | AnonymousUser, account_id: int) -> Membership | None:
    """The user's membership of an active account, with the account, in one query; None
    for an account that is not theirs (or not active), which the pages answer with 404."""
    if not user.is_authenticated:
        return None
    return (
        Membership.objects.select_related("account")
        .filter(user=user, account_id=account_id, account__is_active=True)
        .first()
    )


def account_tz(account: Account) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(account.time_zone)


@dataclass(frozen=True)
class DateRange:
    """Days, inclusive, in the account's time zone (as reports cut them)."""

    start: dt.date | None
    end: dt.date | None

    @classmethod
    def parse(
        cls, params: Any, account: Account, *, default_days: int | None = DEFAULT_DAYS
    ) -> DateRange:
        """`start` and `end` as the report API reads them and held to the same bounds,
        except what is left out: a missing end is today, a missing start `default_days`
        days up to the end (None: both stay open, all time)."""
        start, end = days_parse(params, today=local_today(account), default_span_days=default_days)
        return cls(start, end)

    def days(self, account: Account) -> int:
        """How many days the range spans; an open end is today."""
        end = self.end or local_today(account)
        return (end - (self.start or end)).days + 1

    def bounds(self, account: Account) -> tuple[dt.datetime | None, dt.datetime | None]:
        """[start 00:00, day after end 00:00) in the account's time zone, as aware times."""
        return day_bounds(account, self.start, self.end)

    def filter(self, queryset: QuerySet, field: str, account: Account) -> QuerySet:
        lower, upper = self.bounds(account)
        if lower:
            queryset = queryset.filter(**{f"{field}__gte": lower})
        if upper:
            queryset = queryset.filter(**{f"{field}__lt": upper})
        return queryset

    def contains(self, moment: dt.datetime, account: Account) -> bool:
        lower, upper = self.bounds(account)
        return (lower is None or moment >= lower) and (upper is None or moment < upper)


# The postback log is read as values, not models: an export of a busy account makes no
# model instance per row.
_POSTBACK_VALUES = (
    "received_at", "endpoint", "method", "outcome", "http_status", "reason", "query", "body",
    "ip",
)  # fmt: skip


def postbacks(account: Account, dates: DateRange) -> QuerySet[PostbackLog, dict[str, Any]]:
    queryset = PostbackLog.objects.filter(account=account).values(*_POSTBACK_VALUES)
    return dates.filter(queryset, "received_at", account)


def postback_row(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "received_at": entry["received_at"],
        "endpoint": entry["endpoint"],
        "method": entry["method"],
        "outcome": entry["outcome"],
        "http_status": entry["http_status"],
        "reason": entry["reason"],
        "query": entry["query"] or entry["body"],
        "ip": entry["ip"],
    }


def message_raw_clicks(message: Message, dates: DateRange) -> QuerySet[MessageShortLinkClick]:
    queryset = MessageShortLinkClick.objects.filter(message=message).select_related("short_link")
    return dates.filter(queryset, "clicked_at", message.account)


def counted_click_id(message: Message) -> int | None:
    """The raw click that is the message's MessageClick (its contact's first human click)."""
    return (
        MessageClick.objects.filter(message=message).values_list("raw_click_id", flat=True).first()
    )


def raw_click_row(click: MessageShortLinkClick, counted_id: int | None) -> dict[str, Any]:
    return {
        "clicked_at": click.clicked_at,
        "link_id": click.short_link.link_id,
        "is_bot": click.is_bot,
        "bot_reason": bot_reason_label(click.bot_reason, click.is_bot),
        "counted": click.pk == counted_id,
        "method": click.method,
        "ip": click.ip,
        "user_agent": click.user_agent,
        "click_id": click.click_id,
        **click_traits_of(click),
    }


def bot_reasons(account: Account, dates: DateRange) -> list[dict[str, Any]]:
    """Bot clicks by reason over the range, most first, with each reason's share of them
    (from BotReasonRollup: as fresh as the last rollup build)."""
    queryset = BotReasonRollup.objects.filter(account=account)
    if dates.start:
        queryset = queryset.filter(day__gte=dates.start)
    if dates.end:
        queryset = queryset.filter(day__lte=dates.end)
    rows = list(
        queryset.values("bot_reason")
        .annotate(clicks=Sum("clicks"))
        .order_by("-clicks", "bot_reason")
    )
    total = sum(row["clicks"] for row in rows)
    return [
        {
            "reason": bot_reason_label(row["bot_reason"]),
            "clicks": row["clicks"],
            "share": ratio(row["clicks"], total),
        }
        for row in rows
    ]


def fraud_flags(account: Account, dates: DateRange) -> QuerySet[FraudFlag]:
    queryset = FraudFlag.objects.filter(account=account).select_related("campaign")
    return dates.filter(queryset, "created_at", account)


def fraud_flag_row(flag: FraudFlag) -> dict[str, Any]:
    return {
        "created_at": flag.created_at,
        "kind": flag.get_kind_display(),
        "key": flag.key,
        "campaign": flag.campaign.name if flag.campaign else None,
        "ip": flag.ip,
        "evidence": ", ".join(f"{k}: {v}" for k, v in sorted(flag.evidence.items())),
        "updated_at": flag.updated_at,
    }


def journey_row(event: dict[str, Any], urls: Any) -> dict[str, Any]:
    """One event of reporting.selectors.contact_journey as a row of the journey table."""
    message_id = event.get("message_id")
    return {
        "at": dt.datetime.fromisoformat(event.get("at") or event["occurred_at"]),
        "type": event["type"],
        "message_id": message_id,
        "message_url": urls.message(message_id) if message_id else None,
        "campaign": event.get("campaign"),
        "link_id": event.get("link_id"),
        "is_bot": event.get("is_bot"),
        "bot_reason": bot_reason_label(event.get("bot_reason"), event.get("is_bot")),
        "counted": event.get("counted"),
        **{field: event.get(field) for field in CLICK_TRAIT_FIELDS},
        "event": event.get("event"),
        "revenue": Decimal(event["revenue"]) if event.get("revenue") else None,
        "attribution_type": event.get("attribution_type"),
    }


def filter_choices(account: Account, filters: ReportFilters) -> list[dict[str, Any]]:
    """The Messages page's drop-downs: the account's campaigns, creatives, offers, lists."""
    choices = []
    for param, label, model in (
        ("campaign", "Campaign", Campaign),
        ("creative", "Creative", Creative),
        ("offer", "Offer", Offer),
        ("list", "List", SendingList),
    ):
        selected = getattr(filters, param)
        options = model.objects.filter(account=account).order_by("name").values_list("pk", "name")
        choices.append(
            {
                "param": param,
                "label": label,
                "options": [(pk, name, pk == selected) for pk, name in options],
            }
        )
    return choices
