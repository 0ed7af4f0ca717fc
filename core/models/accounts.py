"""Who the customer is: accounts, their members and roles, and their API keys."""

from __future__ import annotations

import datetime as dt
import fnmatch
import hmac
import secrets
import zoneinfo
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Max
from django.utils import timezone

from core import bounds, costs
from core.models.hashing import hash_secret, secret_matches
from core.models.validation import (
    CLICK_WINDOW_VALIDATORS,
    DEFAULT_CLICK_WINDOW_DAYS,
    validate_currency,
    validate_time_zone,
)

DEFAULT_OPT_OUT_PATTERNS = "*unsubscribe*\n*opt-out*\n*optout*"


class AccountQuerySet(models.QuerySet):
    def configured_by(self, user: Any) -> AccountQuerySet:
        """The accounts whose configuration and API keys the user manages (Membership)."""
        # One membership per (user, account): the join cannot repeat an account.
        return self.filter(memberships__user=user, memberships__role__in=Membership.CONFIG_ROLES)

    def members_managed_by(self, user: Any) -> AccountQuerySet:
        """The accounts whose members the user manages."""
        return self.filter(
            memberships__user=user, memberships__role__in=Membership.MEMBER_MANAGER_ROLES
        )


class Account(models.Model):
    name = models.CharField(max_length=200)
    is_active = models.BooleanField(default=True)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Report days are cut in this time zone.",
    )
    currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[validate_currency],
        help_text="ISO 4217 currency for postbacks that name none.",
    )
    default_click_window_days = models.PositiveIntegerField(
        default=DEFAULT_CLICK_WINDOW_DAYS,
        validators=CLICK_WINDOW_VALIDATORS,
        help_text="Conversions are credited to clicks at most this many days old, "
        "unless the offer sets its own window.",
    )
    data_retention_days = models.PositiveIntegerField(
        default=395,
        validators=[MinValueValidator(1), MaxValueValidator(bounds.MAX_RETENTION_DAYS)],
        help_text="Raw clicks, postback logs, events and webhook deliveries older than this "
        "are deleted (python manage.py apply_retention, daily); reports, conversions and "
        "counted clicks stay. At least the click window (the account's and every offer's).",
    )
    link_retention_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(bounds.MAX_RETENTION_DAYS)],
        help_text="Links older than this are retired and answer the domain's fallback; "
        "empty: links redirect for ever.",
    )
    anonymize_ips = models.BooleanField(
        default=False,
        help_text="Truncate each click's IP (IPv4 to /24, IPv6 to /48) once the behavioural "
        "checks are done with it (its time + the IP fan-out window + 5 minutes).",
    )
    # links.anonymize's high-water mark: raw clicks up to this time have had their IP
    # truncated, so each run reads only the clicks since (null: none yet).
    ips_anonymized_until = models.DateTimeField(null=True, blank=True, editable=False)
    internal_ips = models.JSONField(
        default=list,
        blank=True,
        help_text="The office's and testers' networks (CIDR, e.g. 203.0.113.0/24): clicks "
        "from them are stored as internal and never count.",
    )
    utm_template = models.CharField(
        max_length=500,
        blank=True,
        db_default="",
        help_text="Appended to every destination, e.g. utm_source=sms&utm_medium={channel}"
        "&utm_campaign={campaign}&utm_content={creative}; macros {campaign}, {creative}, "
        "{list}, {channel}, {offer}. A parameter the destination has wins.",
    )
    opt_out_patterns = models.TextField(
        blank=True,
        default=DEFAULT_OPT_OUT_PATTERNS,
        help_text="One pattern per line, matched case-insensitively against whole URLs; "
        "'*' matches anything. Matching links are never rewritten.",
    )
    # Behavioural bot detection: one IP opening links of this many different contacts
    # within this many seconds is a scanner, not a person.
    bot_ip_fanout_contacts = models.PositiveIntegerField(
        default=5, help_text="One IP opening links of this many different contacts..."
    )
    bot_ip_fanout_seconds = models.PositiveIntegerField(
        default=60, help_text="...within this many seconds is a scanner."
    )
    # Postbacks to /conv prove they come from the account's network with this token
    # (`token=`); only its SHA-256 is kept, the token is shown once, like an API key.
    postback_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    require_postback_token = models.BooleanField(
        default=True,
        help_text="On: /conv without the account's postback token is refused (403), and the "
        "pixel (which cannot carry a secret) records the offer's default payout, never the "
        "revenue it reports.",
    )
    # What sending costs (core.costs): fixed on each message at mint.
    sms_segment_cost = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        default=Decimal("0"),
        db_default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(bounds.MONEY_MAX)],
        help_text="What one SMS segment costs, where sms_rates names no rate for the "
        "contact's country.",
    )
    sms_rates = models.JSONField(
        default=dict,
        db_default={},
        blank=True,
        help_text='Per country, by the ISO region of the contact\'s phone: {"US": "0.0079", '
        '"GB": "0.0350"}: what one segment costs there.',
    )
    email_cost = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        default=Decimal("0"),
        db_default=Decimal("0"),
        validators=[MinValueValidator(0), MaxValueValidator(bounds.MONEY_MAX)],
        help_text="What one email costs to send.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = AccountQuerySet.as_manager()

    class Meta:
        db_table = "trackly_account"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def rotate_postback_token(self) -> str:
        token = f"pbt_{secrets.token_urlsafe(24)}"
        self.postback_token_hash = hash_secret(token)
        return token

    def postback_token_matches(self, token: str) -> bool:
        return secret_matches(self.postback_token_hash, token)

    def validate_postback_token_requirement(self, require: bool) -> None:
        # Requiring a token the account has none of would refuse every /conv: an account
        # made before tokens existed gets one first. (A new one gets its token as it is made.)
        if require and self.pk is not None and not self.postback_token_hash:
            raise ValidationError(
                "This account has no postback token yet: rotate one first (POST "
                "/api/v1/account/rotate-postback-token, or the admin's 'Rotate postback "
                "token' action), give it to your networks, then require it."
            )

    def opt_out_pattern_list(self) -> list[str]:
        return [line.strip().lower() for line in self.opt_out_patterns.splitlines() if line.strip()]

    def is_opt_out_url(self, url: str) -> bool:
        lowered = url.lower()
        return any(fnmatch.fnmatchcase(lowered, p) for p in self.opt_out_pattern_list())

    def day_bounds(
        self, start: dt.date | None, end: dt.date | None
    ) -> tuple[dt.datetime | None, dt.datetime | None]:
        """[start 00:00, the day after end 00:00) in the account's time zone (None: open):
        its local days, as reports, the dashboard and reconciliations cut them."""
        tz = zoneinfo.ZoneInfo(self.time_zone)
        lower = dt.datetime.combine(start, dt.time(), tz) if start else None
        upper = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tz) if end else None
        return lower, upper

    def clean(self) -> None:
        super().clean()
        try:
            self.sms_rates = costs.sms_rates_parse(self.sms_rates)
        except bounds.OutOfBounds as exc:
            raise ValidationError({"sms_rates": exc.message}) from None
        if self.pk is not None and (uncovered := self.retention_uncovered()):
            raise ValidationError({"data_retention_days": uncovered})

    def click_window_widest(
        self, *, offer_pk: int | None = None, offer_window: int | None = None
    ) -> int:
        """The longest click window of the account: its default_click_window_days and
        every offer's click_window_days, the offer `offer_pk` (None: a new one) counted
        with `offer_window` instead of what it has stored."""
        offers = self.offers.filter(click_window_days__isnull=False) if self.pk else None
        if offers is not None and offer_pk is not None:
            offers = offers.exclude(pk=offer_pk)
        stored = offers.aggregate(widest=Max("click_window_days"))["widest"] if offers else None
        return max(self.default_click_window_days, stored or 0, offer_window or 0)

    def retention_uncovered(
        self, *, offer_pk: int | None = None, offer_window: int | None = None
    ) -> str:
        """The rule that data_retention_days covers every click window, so that every
        postback inside a window still finds its raw click (the one home: the account API,
        the offers API, both admins): "" when it holds, else what is wrong. Retention
        itself never deletes inside the widest window either (reporting.retention), so
        an account and an offer changed at once past this check lose no click."""
        widest = self.click_window_widest(offer_pk=offer_pk, offer_window=offer_window)
        if self.data_retention_days >= widest:
            return ""
        return (
            f"data_retention_days ({self.data_retention_days}) must be at least every click "
            f"window (the account's default_click_window_days and each offer's "
            f"click_window_days): the longest is {widest} days."
        )

    def message_cost(self, *, channel: str, segments: int | None, phone: str) -> Decimal:
        """What one message costs this account to send (core.costs)."""
        return costs.message_cost(
            channel=channel,
            segments=segments,
            phone=phone,
            sms_segment_cost=self.sms_segment_cost,
            sms_rates=self.sms_rates or {},
            email_cost=self.email_cost,
        )


class Membership(models.Model):
    """A user's place in an account. Every role reads the dashboard and exports (`member`
    will also manage audiences and automations); `admin` also manages the configuration
    and API keys; `owner` also manages the members. The dashboard and Django admin ask
    these rules, nothing else."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"
        VIEWER = "viewer", "Viewer (read-only)"

    CONFIG_ROLES = frozenset({Role.OWNER, Role.ADMIN})
    MEMBER_MANAGER_ROLES = frozenset({Role.OWNER})

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "trackly_membership"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "account"], name="membership_unique_user_account"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.account} ({self.role})"

    def can_manage_config(self) -> bool:
        return self.role in self.CONFIG_ROLES

    def can_manage_members(self) -> bool:
        return self.role in self.MEMBER_MANAGER_ROLES


class ApiKeyQuerySet(models.QuerySet):
    def active(self) -> ApiKeyQuerySet:
        return self.filter(revoked_at__isnull=True, account__is_active=True)


class ApiScope(models.TextChoices):
    MINT = "mint", "Mint messages"
    READ = "read", "Read reports, conversions, journeys and messages"
    CONFIG = "config", "Configure offers, lists, interstitials, campaigns, creatives, keys"


def all_scopes() -> list[str]:
    return [scope.value for scope in ApiScope]


class ApiKey(models.Model):
    """A secret the sending platform presents as `Authorization: Bearer <key>`.

    Only a SHA-256 of the key is stored; the key itself is shown once, when made. The
    public `prefix` finds the row, and the hash is compared in constant time. `scopes`
    say what the key may do (ApiScope).
    """

    PREFIX_LENGTH = 8

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(
        default=all_scopes, help_text="What the key may do: mint, read, config."
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        db_table = "trackly_apikey"
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"trk_{self.prefix}… ({self.name})"

    @classmethod
    def generate(
        cls, *, account: Account, name: str = "default", scopes: list[str] | None = None
    ) -> tuple[ApiKey, str]:
        prefix = secrets.token_hex(cls.PREFIX_LENGTH // 2)
        raw = f"trk_{prefix}_{secrets.token_urlsafe(32)}"
        key = cls.objects.create(
            account=account,
            name=name,
            prefix=prefix,
            key_hash=hash_secret(raw),
            scopes=all_scopes() if scopes is None else sorted(set(scopes)),
        )
        return key, raw

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @staticmethod
    def prefix_of(raw: str) -> str | None:
        parts = raw.split("_", 2)
        if len(parts) != 3 or parts[0] != "trk" or len(parts[1]) != ApiKey.PREFIX_LENGTH:
            return None
        return parts[1]

    def matches(self, raw: str) -> bool:
        return hmac.compare_digest(self.key_hash, hash_secret(raw))
