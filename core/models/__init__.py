"""The core models every app builds on: who the customer is (accounts), whom and what it
sends (audience, campaigns, offers, messages), and where it is tracked (tracking domains,
interstitial templates). One module per subject; everything is imported from here
(`from core.models import Offer`), which migrations name too (`core.models.all_scopes`).

The tables keep the names they had before the core app existed (`db_table`: trackly_*,
links_trackingdomain, links_interstitialtemplate), which raw SQL, triggers and the
migrations that moved them (core/migrations/0001) rely on.
"""

from __future__ import annotations

from core.models.accounts import (
    DEFAULT_OPT_OUT_PATTERNS,
    Account,
    AccountQuerySet,
    ApiKey,
    ApiKeyQuerySet,
    ApiScope,
    Membership,
    all_scopes,
)
from core.models.audience import Contact, ContactErasure, SendingList
from core.models.campaigns import Campaign, Creative
from core.models.events import Event, EventCursor
from core.models.hashing import hash_secret, secret_matches
from core.models.messages import HoldoutMessage, Message
from core.models.offers import Offer
from core.models.tracking import InterstitialTemplate, TrackingDomain, normalize_host
from core.models.validation import (
    CLICK_WINDOW_VALIDATORS,
    DEFAULT_CLICK_WINDOW_DAYS,
    related_in_same_account,
    validate_currency,
    validate_not_before_earliest,
    validate_opt_out_patterns,
    validate_time_zone,
)
from core.models.webhooks import WebhookEndpoint

__all__ = [
    "CLICK_WINDOW_VALIDATORS",
    "DEFAULT_CLICK_WINDOW_DAYS",
    "DEFAULT_OPT_OUT_PATTERNS",
    "Account",
    "AccountQuerySet",
    "ApiKey",
    "ApiKeyQuerySet",
    "ApiScope",
    "Campaign",
    "Contact",
    "ContactErasure",
    "Creative",
    "Event",
    "EventCursor",
    "HoldoutMessage",
    "InterstitialTemplate",
    "Membership",
    "Message",
    "Offer",
    "SendingList",
    "TrackingDomain",
    "WebhookEndpoint",
    "all_scopes",
    "hash_secret",
    "normalize_host",
    "related_in_same_account",
    "secret_matches",
    "validate_currency",
    "validate_not_before_earliest",
    "validate_opt_out_patterns",
    "validate_time_zone",
]
