"""The bounds every input is held to where it enters: dates, windows, pages, sizes.

One home for each limit, so the API, the postbacks, the dashboard and the rollup build agree
(and no account's data can hold a date or a number another account's work chokes on). Pure:
no Django imports.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

# No date Trackly stores or reports is before this (a year-1 date overflowed the rollups).
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
EARLIEST_DATE = EARLIEST.date()
# A message may be minted for a send up to a week ahead; a postback's `ts` a day ahead.
SENT_AT_MAX_AHEAD = dt.timedelta(days=7)
POSTBACK_TS_MAX_AHEAD = dt.timedelta(days=1)

# Report and list ranges: inclusive local dates between EARLIEST_DATE and today + 366 days,
# at most 1,100 days long; a missing start is end - 1,099 days (so 1,100 days in all).
REPORT_MAX_AHEAD_DAYS = 366
REPORT_MAX_SPAN_DAYS = 1100
REPORT_DEFAULT_SPAN_DAYS = REPORT_MAX_SPAN_DAYS - 1

MAX_CLICK_WINDOW_DAYS = 3650
MAX_RETENTION_DAYS = 3650

# Every list endpoint: `limit` / `page_size` and `offset`.
MAX_PAGE_SIZE = 1000
MAX_OFFSET = 1_000_000

# An automation's delay before it acts (automations): from at once to a week.
AUTOMATION_MAX_DELAY_SECONDS = 7 * 86400

# Work per request.
MAX_LINKS_PER_MESSAGE = 50
# An account's internal networks (Account.internal_ips, CIDR): checked at every click of its
# links, so a short list (offices, VPNs, testers' ranges), not a blocklist.
MAX_INTERNAL_NETWORKS = 100
# Body and query of a tracking request (redirects, postbacks): refused past this (413).
MAX_TRACKING_REQUEST_BYTES = 64 * 1024

# Abuse. Logins (dashboard and admin, django-axes): this many failures for one username, or
# from one client IP, lock further attempts for LOGIN_LOCKOUT. The API: each key's requests
# are counted in fixed windows of this many seconds (the limit itself is API_RATE_LIMIT).
LOGIN_FAILURE_LIMIT = 10
LOGIN_LOCKOUT = dt.timedelta(minutes=15)
API_RATE_WINDOW_SECONDS = 60

# Money: what a money column (DecimalField(14, 4): Offer.default_payout and revenue_cap,
# Conversion.revenue) holds. tests/core/test_bounds.py ties the columns to these.
MONEY_MAX_DIGITS = 14
MONEY_DECIMAL_PLACES = 4
MONEY_MAX = Decimal(10) ** (MONEY_MAX_DIGITS - MONEY_DECIMAL_PLACES) - Decimal(10) ** (
    -MONEY_DECIMAL_PLACES
)


class OutOfBounds(ValueError):
    """An input outside its bounds: `field` names it, `message` says what it may be. Each
    caller answers it in its own shape (the API's errors, a postback's 400, a 400 page)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def moment_check(
    field: str, value: dt.datetime, *, now: dt.datetime, ahead: dt.timedelta
) -> dt.datetime:
    """An aware time from EARLIEST to `ahead` after `now`, returned in UTC: ISO 8601 allows
    offsets (+20:00) that PostgreSQL refuses to store, past ±15:59."""
    if not EARLIEST <= value <= now + ahead:
        raise OutOfBounds(
            field, f"Must be from {EARLIEST_DATE.isoformat()} to {_span_text(ahead)} from now."
        )
    return value.astimezone(dt.UTC)


def day_range(
    start: dt.date | None,
    end: dt.date | None,
    *,
    today: dt.date,
    default_span_days: int | None = REPORT_MAX_SPAN_DAYS,
) -> tuple[dt.date | None, dt.date | None]:
    """The days, inclusive, a report or a list covers, from the `start` and `end` asked for
    (None: not given) and today in the account's time zone.

    Each day is from EARLIEST_DATE to today + REPORT_MAX_AHEAD_DAYS. A missing end is today;
    a missing start is `default_span_days` days up to the end (not before EARLIEST_DATE);
    `default_span_days` None leaves what is missing open. A range asked for is at most
    REPORT_MAX_SPAN_DAYS long.
    """
    latest = today + dt.timedelta(days=REPORT_MAX_AHEAD_DAYS)
    for field, day in (("start", start), ("end", end)):
        if day is not None and not EARLIEST_DATE <= day <= latest:
            raise OutOfBounds(
                field, f"Must be a date from {EARLIEST_DATE.isoformat()} to {latest.isoformat()}."
            )
    given_end = end is not None
    if default_span_days is not None:
        if end is None:
            end = today
        if start is None:
            start = max(EARLIEST_DATE, end - dt.timedelta(days=default_span_days - 1))
    if start is not None and end is not None:
        if start > end:
            if given_end:
                raise OutOfBounds("end", "Must be on or after start.")
            raise OutOfBounds("start", "Must be on or before end (today, when end is not given).")
        if (end - start).days + 1 > REPORT_MAX_SPAN_DAYS:
            raise OutOfBounds(
                "start",
                f"A range may span at most {REPORT_MAX_SPAN_DAYS:,} days; this is "
                f"{(end - start).days + 1:,}.",
            )
    return start, end


def page_check(*, size_field: str, size: int, offset_field: str, offset: int) -> None:
    """A page of a list: 1 to MAX_PAGE_SIZE rows, starting at most MAX_OFFSET rows in."""
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise OutOfBounds(size_field, f"Must be from 1 to {MAX_PAGE_SIZE:,}.")
    if not 0 <= offset <= MAX_OFFSET:
        raise OutOfBounds(
            offset_field, f"Must start at most {MAX_OFFSET:,} rows in; narrow the filters."
        )


def _span_text(span: dt.timedelta) -> str:
    return "a day" if span == dt.timedelta(days=1) else f"{span.days} days"


# An account's opt-out patterns are matched against every link it mints.
MAX_OPT_OUT_PATTERNS = 100
MAX_OPT_OUT_PATTERN_LENGTH = 200

# Audiences (audiences.rules): conditions per rule, `within_days` of a condition, and labels
# (a name's length is ContactLabel.name's; names per change of a contact's labels).
AUDIENCE_MAX_CONDITIONS = 20
AUDIENCE_MAX_WITHIN_DAYS = 3650
LABEL_MAX_LENGTH = 100
LABELS_MAX_PER_CHANGE = 100
# Webhooks: endpoints an account may have, what each may say, and how much one request of
# the webhooks API may ask for (the delivery log's attempts per row, a replay's events).
MAX_WEBHOOKS_PER_ACCOUNT = 20
MAX_WEBHOOK_URL_LENGTH = 2000
MAX_WEBHOOK_DESCRIPTION_LENGTH = 500
MAX_DELIVERY_ATTEMPTS_SHOWN = 20
MAX_REPLAY_EVENTS = 100_000
# The pull API (GET /api/v1/events): events per page.
EVENTS_PAGE_DEFAULT = 100
EVENTS_PAGE_MAX = 1000

# App links (links.app_links, the domains API): a domain's apple-app-site-association and
# assetlinks.json, each at most this many bytes as JSON (Apple reads at most 128 KB).
MAX_APP_LINKS_BYTES = 128 * 1024
# Routing (core.routing_rules): an offer's A/B variants and routing rules are read on every
# tap of its links (the rules matched in order), so short lists.
MAX_OFFER_VARIANTS = 20
MAX_OFFER_RULES = 50
MAX_VARIANT_NAME_LENGTH = 64
MAX_DESTINATION_LENGTH = 2000
# Account.utm_template, Campaign.utm_template (the columns' max_length).
MAX_UTM_TEMPLATE_LENGTH = 500

# Sending costs (core.costs): countries with a rate of their own.
MAX_SMS_RATES = 300
# A conversion import (POST /api/v1/conversions/import) or a reconciliation's network file.
MAX_IMPORT_BYTES = 64 * 1024 * 1024
MAX_IMPORT_ROWS = 500_000
# What an adjustment's reason may say.
MAX_ADJUSTMENT_REASON_LENGTH = 500
# Offers one reconciliation compares.
MAX_RECONCILIATION_OFFERS = 50
