"""Short links and the clicks on them."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now
from django.utils import timezone

from core.fields import UriField
from core.models import Account, Contact, Message, Offer
from links.ids import LINK_ID_LENGTH


class MessageShortLink(models.Model):
    """One tracked link in one message, so a click on it names the contact."""

    link_id = models.CharField(max_length=LINK_ID_LENGTH, unique=True, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="links")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    offer = models.ForeignKey(
        Offer, on_delete=models.SET_NULL, null=True, blank=True, related_name="links"
    )
    name = models.CharField(max_length=64, help_text="The placeholder it filled, e.g. link1.")
    destination_url = UriField(
        max_length=2000, help_text="The URL the body carried; an offer's URL wins when set."
    )
    # The A/B variant of its offer drawn at mint (links.routing.variant_pick), "" for none.
    variant = models.CharField(max_length=64, blank=True, db_default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "message short link"
        constraints = [
            models.UniqueConstraint(
                fields=["message", "name"], name="shortlink_unique_message_name"
            )
        ]
        indexes = [models.Index(fields=["offer", "created_at"], name="shortlink_offer_created")]

    def __str__(self) -> str:
        return self.link_id


class MessageShortLinkClick(models.Model):
    """Every request to a short link: people, bots and repeats alike."""

    class Method(models.TextChoices):
        GET = "GET", "GET"
        HEAD = "HEAD", "HEAD"

    # Unique with clicked_at (rawclick_unique_click): on PostgreSQL the table is partitioned
    # by clicked_at, whose unique keys must include it (core.partitions).
    click_id = models.CharField(max_length=32, editable=False)
    # The busiest table's references out carry no database foreign key, and no index of
    # their own where one of Meta.indexes leads with them: each was a per-row check (a
    # query and a row lock on the link, message, contact and account) and an index entry
    # on every click stored, about a third of the click consumer's PostgreSQL time. The
    # writers take the four from a link row they just read (the consumer's statement joins
    # it; the direct write, the link it resolved); deletions still CASCADE (Django's).
    # Race: a link deleted while a batch naming it commits leaves that batch's clicks of it
    # without their link (links are retired, not deleted, so it takes an operator's delete).
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="+", db_constraint=False, db_index=False
    )
    short_link = models.ForeignKey(
        MessageShortLink,
        on_delete=models.CASCADE,
        related_name="clicks",
        db_constraint=False,
        db_index=False,
    )
    message = models.ForeignKey(
        Message,
        on_delete=models.CASCADE,
        related_name="raw_clicks",
        db_constraint=False,
        db_index=False,
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="+", db_constraint=False
    )
    clicked_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    referer = models.TextField(blank=True)
    accept_language = models.CharField(max_length=255, blank=True)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.GET)
    is_bot = models.BooleanField(default=False)
    bot_reason = models.CharField(max_length=100, blank=True)
    # What the click came from (links.agents, links.places): device is mobile, tablet,
    # desktop or other (clicks stored before issue 17 are other), country ISO 3166
    # alpha-2 or NULL, network the IP's autonomous system name.
    device = models.CharField(max_length=8, db_default="other", default="other")
    os = models.CharField(max_length=40, blank=True, db_default="", default="")
    browser = models.CharField(max_length=40, blank=True, db_default="", default="")
    country = models.CharField(max_length=2, null=True, blank=True)
    network = models.CharField(max_length=100, blank=True, db_default="", default="")
    # The A/B variant the click was sent to; "" when none, or when a rule routed it.
    variant = models.CharField(max_length=64, blank=True, db_default="", default="")
    # Set once the behavioural checks (attribution.bot_checks) have looked at this click.
    judged_at = models.DateTimeField(null=True, blank=True)
    # When the row was written: clicked_at plus the click pipeline's lag.
    recorded_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        verbose_name = "raw click"
        constraints = [
            # Deduplication by click id: a click's id and time travel together (the stream
            # entry carries both, and the id's first characters are the time, links.ids), so
            # a click written twice (a batch retried) is one row, skipped by ON CONFLICT. Its
            # index also serves a lookup by click id alone (click_id leads).
            models.UniqueConstraint(fields=["click_id", "clicked_at"], name="rawclick_unique_click")
        ]
        indexes = [
            models.Index(fields=["short_link", "clicked_at"], name="rawclick_link_clicked"),
            models.Index(
                fields=["message", "contact", "clicked_at"], name="rawclick_message_contact"
            ),
            models.Index(fields=["account", "clicked_at"], name="rawclick_account_clicked"),
            models.Index(fields=["ip", "clicked_at"], name="rawclick_ip_clicked"),
            # The behaviour worker's queue: clicks not judged yet, oldest first, and each
            # account's (its fair share of a batch, attribution.bot_checks._claim).
            models.Index(
                fields=["clicked_at"],
                condition=models.Q(judged_at__isnull=True),
                name="rawclick_unjudged",
            ),
            models.Index(
                fields=["account", "clicked_at"],
                condition=models.Q(judged_at__isnull=True),
                name="rawclick_unjudged_account",
            ),
        ]

    def __str__(self) -> str:
        return self.click_id


class MessageClick(models.Model):
    """The first click of a (contact, message) that is not a bot: what reports count and
    what conversions are credited to."""

    # account and contact: no index of their own, Meta's lead with them (one less index
    # entry for each counted click).
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="message_clicks", db_index=False
    )
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="message_clicks")
    short_link = models.ForeignKey(MessageShortLink, on_delete=models.CASCADE, related_name="+")
    # No database foreign key into raw clicks: they are to be partitioned by time (a
    # partitioned table's unique keys include its time) and pruned by retention while the
    # counted click stays, so the reference is a plain column, with the raw click's public id
    # kept beside it. DO_NOTHING: deleting a raw click leaves its counted click; an account,
    # contact, message or link still takes its counted clicks through their own CASCADEs.
    raw_click = models.OneToOneField(
        MessageShortLinkClick,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="message_click",
    )
    click_id = models.CharField(max_length=32, default="", blank=True)
    offer = models.ForeignKey(
        Offer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    clicked_at = models.DateTimeField()
    # The raw click's traits the reports cut counted clicks and their conversions by
    # (reporting's TraitRollup), copied when the counted click is made (links.counting):
    # retention prunes the raw click, the counted click and its traits stay.
    device = models.CharField(max_length=8, db_default="other", default="other")
    os = models.CharField(max_length=40, blank=True, db_default="", default="")
    country = models.CharField(max_length=2, null=True, blank=True)
    variant = models.CharField(max_length=64, blank=True, db_default="", default="")

    class Meta:
        verbose_name = "first click"
        constraints = [
            # At most one counted click per contact per message, whatever the concurrency.
            models.UniqueConstraint(
                fields=["contact", "message"], name="messageclick_unique_contact_message"
            )
        ]
        indexes = [
            # Attribution: a contact's earliest click on an offer inside the window.
            models.Index(
                fields=["contact", "offer", "clicked_at"], name="messageclick_attribution"
            ),
            models.Index(fields=["account", "clicked_at"], name="messageclick_account_clicked"),
        ]

    def __str__(self) -> str:
        return f"{self.contact_id}/{self.message_id}"


class MessageClickAnnouncement(models.Model):
    """What was told of a (contact, message)'s counted click: the raw click its outstanding
    `message.clicked` named, or none (`click_id` blank). links.click_events keeps it equal
    to the judged counted click, emitting the events that correct the difference."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    # No database foreign key (see MessageClick.raw_click): the id may name a pruned click.
    raw_click = models.ForeignKey(
        MessageShortLinkClick,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    # The announced click's public id and time, kept if the raw click is purged.
    click_id = models.CharField(max_length=32, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "click announcement"
        constraints = [
            # One announced state per pair: the row two reconciles lock and wait on.
            models.UniqueConstraint(
                fields=["contact", "message"], name="clickannouncement_unique_contact_message"
            )
        ]
        indexes = [models.Index(fields=["message"], name="clickannouncement_message")]

    def __str__(self) -> str:
        return f"{self.contact_id}/{self.message_id}: {self.click_id or '-'}"
