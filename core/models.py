"""The core models every app builds on: who the customer is, what they send, and where
it is tracked (tracking domains, interstitial templates).

One module for the app's eleven models (longer than 400 lines): each is short, they refer
to each other, and their tables keep the names they had before the core app existed
(`db_table`: trackly_*, links_trackingdomain, links_interstitialtemplate), which raw SQL,
triggers and the migrations that moved them (core/migrations/0001) rely on.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import hmac
import secrets
import zoneinfo
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from core import bounds
from core.currencies import CURRENCIES
from core.fields import UriField

DEFAULT_CLICK_WINDOW_DAYS = 90
DEFAULT_OPT_OUT_PATTERNS = "*unsubscribe*\n*opt-out*\n*optout*"


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone (e.g. America/New_York).")


def validate_currency(value: str) -> None:
    if value not in CURRENCIES:
        raise ValidationError(f"{value!r} is not an ISO 4217 currency code (e.g. USD).")


def validate_opt_out_patterns(value: str) -> None:
    """Bounded: they are matched against every link the account mints. (Not a field
    validator, to need no migration: the account API and admin call it.)"""
    patterns = [line.strip() for line in value.splitlines() if line.strip()]
    if len(patterns) > bounds.MAX_OPT_OUT_PATTERNS:
        raise ValidationError(f"At most {bounds.MAX_OPT_OUT_PATTERNS} patterns.")
    for pattern in patterns:
        if len(pattern) > bounds.MAX_OPT_OUT_PATTERN_LENGTH:
            raise ValidationError(
                f"Each pattern at most {bounds.MAX_OPT_OUT_PATTERN_LENGTH} characters: "
                f"{pattern[:40]!r}... is longer."
            )


def validate_not_before_earliest(value: dt.datetime) -> None:
    if value < bounds.EARLIEST:
        raise ValidationError(f"Must be on or after {bounds.EARLIEST.date().isoformat()}.")


def hash_secret(secret: str) -> str:
    # surrogatepass: a secret is compared, never shown; a stray surrogate must not crash it.
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def secret_matches(stored_hash: str, secret: str) -> bool:
    """`secret` against a stored hash_secret(), in constant time; no hash matches nothing."""
    return bool(stored_hash) and hmac.compare_digest(stored_hash, hash_secret(secret))


def related_in_same_account(obj: models.Model, *fields: str) -> None:
    """Every related object named in `fields` belongs to `obj`'s account (a staff user who
    configures two accounts must not pair one's offer with the other's template)."""
    errors = {}
    for name in fields:
        related = getattr(obj, name, None)
        if related is not None and related.account_id != obj.account_id:
            errors[name] = "Belongs to another account."
    if errors:
        raise ValidationError(errors)


CLICK_WINDOW_VALIDATORS = [MinValueValidator(1), MaxValueValidator(bounds.MAX_CLICK_WINDOW_DAYS)]


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
        help_text="Not enforced yet: nothing is pruned. A later issue deletes raw clicks "
        "and postback logs older than this.",
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


def normalize_host(host: str) -> str:
    """Lower-case a Host header and drop its port (and an IPv6 literal's brackets)."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class TrackingDomain(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tracking_domains")
    host = models.CharField(
        max_length=253, unique=True, help_text="The hostname alone, e.g. go.brand.com."
    )
    https = models.BooleanField(default=True, help_text="Short URLs start with https://.")
    port = models.PositiveIntegerField(
        null=True, blank=True, help_text="Only for development hosts such as 127.0.0.1:8000."
    )
    fallback_url = UriField(
        max_length=2000,
        blank=True,
        help_text="Unknown links, and paused offers with no fallback of their own, go here.",
    )
    is_active = models.BooleanField(default=True)
    is_primary = models.BooleanField(
        default=False, help_text="New short links use the primary active domain."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "links_trackingdomain"
        ordering = ["-is_primary", "id"]

    def __str__(self) -> str:
        return self.host

    def save(self, *args: object, **kwargs: object) -> None:
        # Hosts are matched lower-case and without a port; keep the stored form the same.
        self.host = normalize_host(self.host)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        host = normalize_host(self.host or "")
        if not host or "/" in host or " " in host:
            raise ValidationError({"host": "Enter a hostname such as go.brand.com."})
        self.host = host

    @property
    def base_url(self) -> str:
        scheme = "https" if self.https else "http"
        port = f":{self.port}" if self.port else ""
        return f"{scheme}://{self.host}{port}"

    def short_url(self, link_id: str) -> str:
        return f"{self.base_url}/{link_id}"


class InterstitialTemplate(models.Model):
    """A page shown before the redirect. Every field is plain text and is escaped."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="interstitial_templates"
    )
    name = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    cta_text = models.CharField("call-to-action text", max_length=100, default="Continue")
    og_title = models.CharField("og:title", max_length=200, blank=True)
    og_description = models.TextField("og:description", blank=True)
    og_image = UriField("og:image", max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "links_interstitialtemplate"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="interstitial_unique_account_name"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    """A recipient. `external_id` is the sending platform's id; when it sends none, the
    phone (else the email) is the id, so one phone is one contact."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="contacts")
    external_id = models.CharField(max_length=200)
    phone = models.CharField(max_length=16, blank=True, help_text="E.164, e.g. +14155550123")
    email = models.EmailField(max_length=254, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "trackly_contact"
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"], name="contact_unique_account_external_id"
            )
        ]
        indexes = [
            models.Index(fields=["account", "phone"], name="contact_account_phone"),
            models.Index(fields=["account", "email"], name="contact_account_email"),
        ]

    def __str__(self) -> str:
        return self.phone or self.email or self.external_id


class SendingList(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="lists")
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=200, null=True, blank=True)
    bot_detection_enabled = models.BooleanField(
        default=True,
        help_text="Off: bot verdicts are still recorded, but a bot's click can be the "
        "contact's counted first click.",
    )
    default_interstitial = models.ForeignKey(
        InterstitialTemplate,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Shown for offers whose interstitial mode is 'list default'.",
    )
    scanner_window_seconds = models.PositiveIntegerField(
        default=3,
        help_text="Clicks this soon after the message was sent are carrier scanners.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "trackly_sendinglist"
        verbose_name = "sending list"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="list_unique_account_name"),
            models.UniqueConstraint(
                fields=["account", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="list_unique_account_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        related_in_same_account(self, "default_interstitial")


class Campaign(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "trackly_campaign"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="campaign_unique_account_name"
            ),
            models.UniqueConstraint(
                fields=["account", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="campaign_unique_account_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Creative(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="creatives")
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="creatives"
    )
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=200, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "trackly_creative"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="creative_unique_account_name"
            ),
            models.UniqueConstraint(
                fields=["account", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="creative_unique_account_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        related_in_same_account(self, "campaign")


class Offer(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        EXPIRED = "expired", "Expired"

    class InterstitialMode(models.TextChoices):
        NONE = "none", "None (redirect)"
        LIST_DEFAULT = "list_default", "Sending list's default"
        CUSTOM = "custom", "Custom template"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="offers")
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=200, null=True, blank=True)
    destination_url = UriField(
        max_length=2000,
        help_text="May use the macros {click_id}, {link_id}, {message_id}, {contact_id}, "
        "{offer_id}, {campaign_id}, {creative_id}.",
    )
    click_param = models.CharField(
        max_length=64,
        default="click_id",
        help_text="Query parameter that carries the click id when the URL has no {click_id}.",
    )
    fallback_url = UriField(
        max_length=2000,
        blank=True,
        help_text="Where clicks go while the offer is paused or expired.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField(
        null=True, blank=True, validators=[validate_not_before_earliest]
    )
    default_payout = models.DecimalField(
        max_digits=14, decimal_places=4, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    revenue_cap = models.DecimalField(
        max_digits=14,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="A postback reporting more revenue than this is refused (400) and logged. "
        "Blank: no cap.",
    )
    interstitial_mode = models.CharField(
        max_length=16, choices=InterstitialMode.choices, default=InterstitialMode.NONE
    )
    interstitial_template = models.ForeignKey(
        InterstitialTemplate,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="offers",
    )
    # Only a SHA-256 of the postback secret is kept: it is shown once, when the offer is made
    # or the secret rotated, like an API key.
    postback_secret_hash = models.CharField(max_length=64, editable=False)
    click_window_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=CLICK_WINDOW_VALIDATORS,
        help_text="Blank: the account's default click window.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "trackly_offer"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="offer_unique_account_external_id",
            ),
            models.CheckConstraint(
                condition=~models.Q(interstitial_mode="custom")
                | models.Q(interstitial_template__isnull=False),
                name="offer_custom_interstitial_has_template",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        related_in_same_account(self, "interstitial_template")
        if (
            self.interstitial_mode == self.InterstitialMode.CUSTOM
            and not self.interstitial_template_id
        ):
            raise ValidationError(
                {"interstitial_template": "A custom interstitial needs a template."}
            )

    def rotate_postback_secret(self) -> str:
        secret = secrets.token_urlsafe(24)
        self.postback_secret_hash = hash_secret(secret)
        return secret

    def postback_secret_matches(self, secret: str) -> bool:
        return secret_matches(self.postback_secret_hash, secret)

    def revenue_within_cap(self, revenue: Decimal) -> bool:
        """A postback may report at most the offer's revenue cap (attribution.fastpath
        declines above it, in SQL, leaving the answer to the full path)."""
        return self.revenue_cap is None or revenue <= self.revenue_cap


class Message(models.Model):
    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        EMAIL = "email", "Email"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="messages")
    external_id = models.CharField(max_length=200, null=True, blank=True)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="messages")
    sending_list = models.ForeignKey(
        SendingList, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    creative = models.ForeignKey(
        Creative, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.SMS)
    body = models.TextField(help_text="The body as the sending platform gave it.")
    rewritten_body = models.TextField(help_text="The body with tracked links, as sent.")
    segments = models.PositiveSmallIntegerField(null=True, blank=True)
    sent_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "trackly_message"
        constraints = [
            # The minting API's idempotency: one message per external id, under any race.
            models.UniqueConstraint(
                fields=["account", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="message_unique_account_external_id",
            )
        ]
        indexes = [
            models.Index(fields=["account", "sent_at"], name="message_account_sent_at"),
            models.Index(fields=["contact", "sent_at"], name="message_contact_sent_at"),
            models.Index(fields=["campaign", "sent_at"], name="message_campaign_sent_at"),
        ]

    def __str__(self) -> str:
        return self.external_id or f"message {self.pk}"

    def clean(self) -> None:
        related_in_same_account(self, "contact", "sending_list", "campaign", "creative")
