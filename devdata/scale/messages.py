"""The scale data's messages (trackly_message) and their links (links_messageshortlink): who
is sent what and when (campaign blasts at the account's office hours), numbered in send
order, with globally unique link ids drawn as minting draws them."""

from __future__ import annotations

import bisect
import datetime as dt
import zoneinfo
from array import array
from typing import Any

from devdata.scale.catalogue import (
    CAMPAIGNS,
    HOUR,
    MINUTE,
    SMS_SEGMENT_COST,
    VARIANTS,
    AccountPlan,
    OfferPlan,
)
from devdata.scale.draw import CHUNK, cumulative, random_ids, total_split
from devdata.scale.pg import copy_rows, next_id


class MessagesStep:
    """Part of ScaleFill: reads its accounts, lists, creatives, period and rng; sets the
    per-message arrays (msg_sent, msg_contact, msg_creative, msg_list, msg_link1,
    msg_link2) and first_message_id, which the clicks and conversions read."""

    def _message_plan(self) -> list[tuple[int, int, int, int]]:
        """(sent, contact id, creative index, list index) of every message, in send order:
        each campaign sends in blasts every few days at the account's office hours, to
        contacts of one list (mostly its own), creatives A/B/C split at random."""
        rng, planned = self.rng, []
        per_account = len(self.lists) // len(self.accounts)
        for a, plan in enumerate(self.accounts):
            tz = zoneinfo.ZoneInfo(plan.account.time_zone)
            # The account's creatives, grouped by campaign (in the order they were made).
            creatives = [i for i, c in enumerate(self.creatives) if c.account == a]
            campaigns = [
                creatives[k : k + len(VARIANTS)] for k in range(0, len(creatives), len(VARIANTS))
            ]
            assert len(campaigns) == len(CAMPAIGNS)
            counts = total_split(plan.messages, [rng.uniform(0.5, 1.5) for _ in campaigns])
            for variants, count in zip(campaigns, counts, strict=True):
                blasts = self._blasts(tz)
                own_list = a * per_account + rng.randrange(per_account)
                sizes = total_split(count, [rng.uniform(0.6, 1.4) for _ in blasts])
                for (blast_at, duration), n in zip(blasts, sizes, strict=True):
                    list_index = (
                        own_list
                        if rng.random() < 0.7
                        else a * per_account + rng.randrange(per_account)
                    )
                    audience = self.lists[list_index]
                    split = cumulative([rng.uniform(0.7, 1.3) for _ in variants])
                    for k in range(n):
                        creative = variants[bisect.bisect(split, rng.random() * split[-1])]
                        contact = plan.first_contact_id + rng.randrange(
                            audience.first_contact, audience.end_contact
                        )
                        sent = blast_at + duration * k // max(1, n)
                        planned.append((sent, contact, creative, list_index))
        planned.sort()
        return planned

    def _blasts(self, tz: zoneinfo.ZoneInfo) -> list[tuple[int, int]]:
        """(start, duration) of a campaign's sends: every two to five days, at local
        office hours, none in the last six hours of the period."""
        rng, days = self.rng, self.size.weeks * 7
        day = rng.uniform(0, days * 0.5)
        last = min(days - 0.5, day + rng.uniform(days * 0.35, days))
        blasts = []
        while day <= last:
            local = (self.start + dt.timedelta(days=day)).astimezone(tz)
            local = local.replace(hour=rng.randint(9, 18), minute=rng.randrange(60))
            at = (local.astimezone(dt.UTC) - self.start) // dt.timedelta(microseconds=1)
            if 0 <= at < self.span - 6 * HOUR:
                blasts.append((at, int(rng.uniform(10, 60) * MINUTE)))
            day += rng.uniform(2, 5)
        return blasts or [(int(self.span * rng.uniform(0.1, 0.8)), 20 * MINUTE)]

    def _messages(self, cursor: Any) -> None:
        planned = self._message_plan()
        count = len(planned)
        self.msg_sent = array("q", (p[0] for p in planned))
        self.msg_contact = array("q", (p[1] for p in planned))
        self.msg_creative = array("i", (p[2] for p in planned))
        self.msg_list = array("i", (p[3] for p in planned))
        del planned
        self.first_message_id = next_id(cursor, "trackly_message")
        self.msg_link1 = array("q", bytes(8 * count))
        self.msg_link2 = array("q", bytes(8 * count))  # 0: no second link
        link_ids = _LinkIds(cursor)
        short_ids: list[str] = []
        link_pk = next_id(cursor, "links_messageshortlink")

        columns = ("id", "account_id", "external_id", "contact_id", "sending_list_id",
                   "campaign_id", "creative_id", "channel", "body", "rewritten_body", "segments",
                   "cost", "sent_at", "created_at")  # fmt: skip
        with copy_rows(cursor, "trackly_message", columns) as write:
            for m in range(count):
                creative = self.creatives[self.msg_creative[m]]
                plan = self.accounts[creative.account]
                urls = []
                for slot in (self.msg_link1, self.msg_link2)[: 1 + creative.has_link2]:
                    short_id = link_ids.new()
                    short_ids.append(short_id)
                    urls.append(f"{plan.base_url}/{short_id}")
                    slot[m] = link_pk
                    link_pk += 1
                pk = self.first_message_id + m
                sent = self.start + dt.timedelta(microseconds=self.msg_sent[m])
                write((
                    pk, plan.account.pk, f"sm-{pk}", self.msg_contact[m],
                    self.lists[self.msg_list[m]].id, creative.campaign_id, creative.creative_id,
                    "sms", creative.body, creative.rewritten.format(*urls, ""), creative.segments,
                    creative.segments * SMS_SEGMENT_COST, sent, sent,
                ))  # fmt: skip
        self.counts["messages"] = count

        columns = ("id", "link_id", "account_id", "message_id", "contact_id", "offer_id", "name",
                   "destination_url", "created_at")  # fmt: skip
        short = iter(short_ids)
        with copy_rows(cursor, "links_messageshortlink", columns) as write:
            for m in range(count):
                plan, offer = self._offer_of(m)
                pk, contact = self.first_message_id + m, self.msg_contact[m]
                sent = self.start + dt.timedelta(microseconds=self.msg_sent[m])
                write((self.msg_link1[m], next(short), plan.account.pk, pk, contact, offer.id,
                       "link1", offer.url, sent))  # fmt: skip
                if self.msg_link2[m]:
                    write((self.msg_link2[m], next(short), plan.account.pk, pk, contact, None,
                           "link2", f"https://shop.{plan.slug}.example/stores", sent))  # fmt: skip
        self.counts["links"] = len(short_ids)

    def _offer_of(self, m: int) -> tuple[AccountPlan, OfferPlan]:
        creative = self.creatives[self.msg_creative[m]]
        plan = self.accounts[creative.account]
        return plan, plan.offers[creative.offer]


class _LinkIds:
    """Globally unique 7-character link ids: one that is taken (by a stored link or one
    just drawn) is drawn again, as minting does."""

    def __init__(self, cursor: Any) -> None:
        cursor.execute("SELECT link_id FROM links_messageshortlink")
        self.taken = {link_id for (link_id,) in cursor.fetchall()}
        self.pool: list[str] = []

    def new(self) -> str:
        while True:
            if not self.pool:
                self.pool = random_ids(CHUNK, 7)
            link_id = self.pool.pop()
            if link_id not in self.taken:
                self.taken.add(link_id)
                return link_id
