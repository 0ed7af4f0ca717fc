"""Rollup tables the reports read, and the markers that say which parts of them are stale.

The rollups are derived data: `reporting.services.rollups_build` rebuilds any part of them
from the raw rows (the SQL is in reporting.rollup_rows). Their foreign keys carry no
database constraint (a deleted campaign must not block on, or cascade into, figures that
the next build rewrites anyway).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.db.models.functions import Coalesce

from core.models import Account, Campaign, Creative, Message, Offer, SendingList
from reporting.metrics import COUNT_FIELDS


def _dimension(model: type[models.Model]) -> models.ForeignKey:
    return models.ForeignKey(
        model,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )


# sends and cost are a message's: each table defines how they are counted.
FIGURES = tuple(f for f in COUNT_FIELDS if f not in ("sends", "cost"))


def _money() -> models.DecimalField:
    return models.DecimalField(max_digits=20, decimal_places=4, default=0)


class Figures(models.Model):
    """The counts of reporting.metrics.COUNT_FIELDS except sends and cost, which each table
    defines (FIGURES)."""

    raw_clicks = models.PositiveIntegerField(default=0)
    bot_clicks = models.PositiveIntegerField(default=0)
    unique_clicks = models.PositiveIntegerField(default=0)
    conversions = models.PositiveIntegerField(default=0)
    revenue = _money()
    payout = _money()
    view_through_conversions = models.PositiveIntegerField(default=0)
    view_through_revenue = _money()
    view_through_payout = _money()
    pending_conversions = models.PositiveIntegerField(default=0)
    pending_revenue = _money()

    class Meta:
        abstract = True


class DailyRollup(Figures):
    """One account's figures for one day (in the account's time zone) and one combination
    of campaign, creative, sending list and offer. Each figure is counted on the day it
    happened: sends on `sent_at`, clicks on `clicked_at`, conversions on `occurred_at`.

    Clicks and conversions fall on the offer of their link / conversion. A message is a
    send of each offer it carries a link to (`offer_sends`; offer NULL: messages carrying
    no offer-bound link), and once over the whole table (`sends`, on its first offer's row);
    its cost likewise (`offer_cost`, `cost`).
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    campaign = _dimension(Campaign)
    creative = _dimension(Creative)
    sending_list = _dimension(SendingList)
    offer = _dimension(Offer)
    sends = models.PositiveIntegerField(default=0)
    offer_sends = models.PositiveIntegerField(default=0)
    cost = _money()
    offer_cost = _money()

    class Meta:
        constraints = [
            # Race: two builds rewriting one day at once. The build lock serialises them;
            # this unique index (NULLs compared as 0) would make a double insert fail loudly.
            models.UniqueConstraint(
                "account",
                "day",
                Coalesce("campaign", 0),
                Coalesce("creative", 0),
                Coalesce("sending_list", 0),
                Coalesce("offer", 0),
                name="dailyrollup_unique_slice",
            )
        ]

    def __str__(self) -> str:
        return f"account {self.account_id} on {self.day}"


class MessageRollup(Figures):
    """One message's figures over its whole life, for the messages report; `day` is the
    day it was sent, in the account's time zone.

    One row per offer the message carries a link to (offer NULL: it carries none), each
    with the whole message's figures, so that the offer filter is an indexed equality.
    `is_first_offer` marks exactly one row per message (its first offer's, or the NULL
    one): the report without an offer filter reads only those. `cost` is the message's.
    """

    message = models.ForeignKey(
        Message, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    offer = _dimension(Offer)
    is_first_offer = models.BooleanField(default=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    sent_at = models.DateTimeField()
    campaign = _dimension(Campaign)
    creative = _dimension(Creative)
    sending_list = _dimension(SendingList)
    contact_id = models.BigIntegerField()
    external_id = models.CharField(max_length=200, null=True, blank=True)
    cost = _money()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "message", Coalesce("offer", 0), name="messagerollup_unique_message_offer"
            )
        ]
        indexes = [
            # The messages report's default order, a page at a time: newest first.
            models.Index(
                fields=["account", "day", "sent_at", "message"],
                condition=models.Q(is_first_offer=True),
                name="messagerollup_account_day",
            ),
            models.Index(
                fields=["account", "campaign", "day", "sent_at"],
                condition=models.Q(is_first_offer=True),
                name="messagerollup_campaign_day",
            ),
            models.Index(
                fields=["account", "offer", "day", "sent_at"], name="messagerollup_offer_day"
            ),
        ]

    def __str__(self) -> str:
        return f"message {self.message_id} (offer {self.offer_id})"


class MessageDayRollup(Figures):
    """The messages report's totals a day at a time: the sums of the MessageRollup rows of
    one account, sent day, campaign, creative, list, offer and `is_first_offer`, and how
    many rows they are (`messages`). The report's totals read these, a row per day and
    slice, not a row per message ever sent (805 ms at 545,454 messages, growing with them).

    PostgreSQL only: kept equal to MessageRollup by statement-level triggers on it (reporting
    0012), whoever writes it. The embedded default sums MessageRollup itself."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    campaign = _dimension(Campaign)
    creative = _dimension(Creative)
    sending_list = _dimension(SendingList)
    offer = _dimension(Offer)
    is_first_offer = models.BooleanField()
    messages = models.PositiveIntegerField(default=0)
    cost = _money()

    class Meta:
        constraints = [
            # The triggers' ON CONFLICT target. Race: two builds writing one day's messages
            # at once (the build lock serialises them; this index would settle it anyway:
            # the second insert of a slice updates the first's row, under its row lock).
            models.UniqueConstraint(
                "account",
                "day",
                Coalesce("campaign", 0),
                Coalesce("creative", 0),
                Coalesce("sending_list", 0),
                Coalesce("offer", 0),
                "is_first_offer",
                name="messagedayrollup_unique_slice",
            )
        ]

    def __str__(self) -> str:
        return f"messages of account {self.account_id} sent on {self.day}"


class MonthRollup(Figures):
    """DailyRollup's sums a month at a time: one account, `month` (its first day, in the
    account's time zone, as DailyRollup's days are), campaign, creative, list and offer. The
    reports read whole months here and only their edge days from DailyRollup, so an
    all-time report reads a row per month and slice, not one per day (it grew with history:
    reports p95 10.1 ms at 8 weeks, 16.9 ms at 24).

    PostgreSQL only: kept equal to DailyRollup by statement-level triggers on it (reporting
    0015), whoever writes it. The embedded default sums DailyRollup itself."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    campaign = _dimension(Campaign)
    creative = _dimension(Creative)
    sending_list = _dimension(SendingList)
    offer = _dimension(Offer)
    sends = models.PositiveIntegerField(default=0)
    offer_sends = models.PositiveIntegerField(default=0)
    cost = _money()
    offer_cost = _money()
    # How many DailyRollup rows it sums: the triggers delete a row that sums none, so a
    # slice exists for a month exactly when it does for one of its days.
    days = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # The triggers' ON CONFLICT target. Race: two builds writing one month's days at
            # once (the build lock serialises them; the second insert of a slice would
            # update the first's row, under its row lock).
            models.UniqueConstraint(
                "account",
                "month",
                Coalesce("campaign", 0),
                Coalesce("creative", 0),
                Coalesce("sending_list", 0),
                Coalesce("offer", 0),
                name="monthrollup_unique_slice",
            )
        ]

    def __str__(self) -> str:
        return f"account {self.account_id} in the month of {self.month}"


class TraitMonthRollup(Figures):
    """TraitRollup's sums a month at a time, as MonthRollup is DailyRollup's (the trait
    reports' whole months). PostgreSQL only, kept by triggers on TraitRollup (reporting
    0015)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    campaign = _dimension(Campaign)
    creative = _dimension(Creative)
    sending_list = _dimension(SendingList)
    offer = _dimension(Offer)
    dimension = models.CharField(max_length=16)
    key = models.CharField(max_length=64, blank=True)
    sends = models.PositiveIntegerField(default=0)
    cost = _money()
    days = models.PositiveIntegerField(default=0)  # TraitRollup rows summed (as MonthRollup's)

    class Meta:
        constraints = [
            # Race: as MonthRollup's.
            models.UniqueConstraint(
                "account",
                "month",
                "dimension",
                "key",
                Coalesce("campaign", 0),
                Coalesce("creative", 0),
                Coalesce("sending_list", 0),
                Coalesce("offer", 0),
                name="traitmonthrollup_unique_slice",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dimension} {self.key!r} of account {self.account_id}, month of {self.month}"


class BotReasonRollup(models.Model):
    """One account's bot clicks for one day (in the account's time zone) and one bot
    reason ("" when none was given), for the dashboard's bots page."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    bot_reason = models.CharField(max_length=100, blank=True)
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # Race: as DailyRollup's. Its index also serves the page: an account's days.
            models.UniqueConstraint(
                fields=["account", "day", "bot_reason"], name="botreasonrollup_unique_reason"
            )
        ]

    def __str__(self) -> str:
        return f"account {self.account_id} on {self.day}: {self.bot_reason or '(none given)'}"


class TraitRollup(Figures):
    """One account's figures for one day (in the account's time zone), one combination of
    campaign, creative, sending list and offer, and one value `key` of one click trait
    `dimension` (TRAIT_DIMENSIONS): the device, OS family, country or A/B variant.

    Clicks fall on their own trait; unique clicks on their raw click's (kept on the counted
    click, MessageClick); conversions on
    their credited counted click's (`Conversion.message_click`, which keeps its raw click's
    traits after retention prunes it), view-through ones (no click) on the
    no-click key (TRAIT_NO_CLICK). `key` is "" for an unknown OS or country and for no
    variant. `sends` is only counted for variants: the messages carrying a link of the
    offer with that variant (a send has no device, OS or country), and `cost` likewise:
    the cost of those messages.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    campaign = _dimension(Campaign)
    creative = _dimension(Creative)
    sending_list = _dimension(SendingList)
    offer = _dimension(Offer)
    dimension = models.CharField(max_length=16)
    key = models.CharField(max_length=64, blank=True)
    sends = models.PositiveIntegerField(default=0)
    cost = _money()

    class Meta:
        constraints = [
            # Race: as DailyRollup's.
            models.UniqueConstraint(
                "account",
                "day",
                "dimension",
                "key",
                Coalesce("campaign", 0),
                Coalesce("creative", 0),
                Coalesce("sending_list", 0),
                Coalesce("offer", 0),
                name="traitrollup_unique_slice",
            )
        ]
        indexes = [
            # A report reads one dimension of an account over a range of days.
            models.Index(fields=["account", "dimension", "day"], name="traitrollup_dimension_day")
        ]

    def __str__(self) -> str:
        return f"account {self.account_id} on {self.day}: {self.dimension} {self.key!r}"


# dimension -> the click's column it is cut by.
TRAIT_DIMENSIONS = {"devices": "device", "os": "os", "countries": "country", "variants": "variant"}
# Where a conversion with no click (view-through) falls in each dimension.
TRAIT_NO_CLICK = {"devices": "other", "os": "", "countries": "", "variants": ""}


class DirtyHour(models.Model):
    """An hour (UTC) of an account whose rollup days must be rebuilt; `hour` NULL: every
    day of the account. Written by database triggers (migration 0002) on every insert,
    update and delete that changes a figure, whoever the writer is; the build deletes
    the markers it has handled. Duplicates are expected and harmless.

    `time_zone_was` (with `hour` NULL): the account's time zone changed from this one
    (migration 0011): every day whose raw rows are kept is cut again in the new zone, and
    the days past retention keep their rows, cut in this one (reporting.services)."""

    account_id = models.BigIntegerField()
    hour = models.DateTimeField(null=True)
    time_zone_was = models.CharField(max_length=64, blank=True, default="", db_default="")

    def __str__(self) -> str:
        return f"account {self.account_id} at {self.hour or 'every hour'}"


class DirtyMessage(models.Model):
    """Messages whose MessageRollup rows must be rebuilt: one marker per writing statement
    (the triggers, migration 0016), naming every message the statement touched, at most
    MARK_CHUNK of them a row when written from Python. Before, a row a message: a consumer
    batch of 500 clicks on 500 messages wrote 500 rows (1,000 for first clicks, the raw
    click's and the counted click's); one marker saves 2-3 us of PostgreSQL a stored click
    (bench/click_write.py, 2026-12-04). Claimed by id (reporting.services._messages_claim),
    a message named by several markers may be rebuilt once for each."""

    MARK_CHUNK = 5000

    message_ids = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{len(self.message_ids)} messages"

    @classmethod
    def mark(cls, message_ids: Iterable[int]) -> None:
        ids = sorted(set(message_ids))
        cls.objects.bulk_create(
            [
                cls(message_ids=ids[start : start + cls.MARK_CHUNK])
                for start in range(0, len(ids), cls.MARK_CHUNK)
            ]
        )

    @classmethod
    def marked(cls) -> set[int]:
        """Every message some marker names."""
        return {pk for ids in cls.objects.values_list("message_ids", flat=True) for pk in ids}


class PrunedClicks(models.Model):
    """A message's raw clicks that retention deleted (reporting.retention), tallied in the
    transaction that deleted them: its MessageRollup row counts them with the clicks still
    there, so the messages report is unchanged by retention and by any rebuild after it."""

    message_id = models.BigIntegerField(primary_key=True)
    raw_clicks = models.BigIntegerField(default=0)
    bot_clicks = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"message {self.message_id}: {self.raw_clicks} raw clicks pruned"
