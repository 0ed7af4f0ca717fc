"""The load itself: contacts, messages, links, raw clicks, first clicks, conversions and their
postbacks, generated in Python and streamed with binary COPY; the conversions are then
credited by the product's rule in one statement (attribution.rules.conversions_attribute).

Messages are numbered in send order and clicks in click order (as ingestion numbers them),
so ids follow time. Times are integer microseconds from the start of the period until they
are written.
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import math
import os
import random
import time
import zoneinfo
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from psycopg import sql

from attribution.redaction import REDACTED
from attribution.rules import conversions_attribute
from devdata.scale.catalogue import (
    CAMPAIGNS,
    DAY,
    HOUR,
    MINUTE,
    SECOND,
    VARIANTS,
    AccountPlan,
    Clickers,
    CreativePlan,
    ListPlan,
    OfferPlan,
    account_plan_create,
)
from devdata.scale.pg import copy_rows, next_id, secondary_indexes_drop, sequence_past_max
from links.counting import message_clicks_build

# The tables loaded with COPY, in the order they are filled.
LOADED_TABLES = (
    "trackly_contact",
    "trackly_message",
    "links_messageshortlink",
    "links_messageshortlinkclick",
    "links_messageclick",
    "attribution_postbacklog",
    "attribution_conversion",
)
CHUNK = 100_000
# Conversions: click-attributed, view-through, offer-level (no contact), unattributed.
CONVERSION_MIX = (0.82, 0.08, 0.04, 0.06)


@dataclass(frozen=True)
class ScaleSize:
    messages: int = 1_000_000
    clicks: int = 10_000_000
    conversions: int = 100_000
    accounts: int = 3
    weeks: int = 8
    bot_share: float = 0.22
    seed: int = 1

    def problems(self) -> list[str]:
        out = []
        if self.accounts < 1 or self.weeks < 1:
            out.append("--accounts and --weeks must be at least 1")
        if self.messages < self.accounts:
            out.append("--messages must be at least one per account")
        if self.clicks < 0 or self.conversions < 0:
            out.append("--clicks and --conversions cannot be negative")
        if not 0 <= self.bot_share <= 1:
            out.append("--bot-share is a fraction between 0 and 1")
        return out


@dataclass
class FirstClick:
    """A MessageClick made (links.counting.message_clicks_build), as the conversions use it."""

    id: int
    message: int  # index into the messages
    offer_id: int | None  # None when the first click was on link2 (no offer)
    clicked_at: int
    click_pk: int
    click_id: str


class ScaleFill:
    """One load; `run()` returns what it made."""

    def __init__(self, size: ScaleSize, *, log: Callable[[str], None] = lambda _: None) -> None:
        self.size = size
        self.log = log
        self.rng = random.Random(size.seed)
        self.end = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0)
        self.start = self.end - dt.timedelta(weeks=size.weeks)
        self.span = (self.end - self.start) // dt.timedelta(microseconds=1)
        self.timings: dict[str, float] = {}
        self.counts: dict[str, int] = {}
        self.accounts: list[AccountPlan] = []
        self.lists: list[ListPlan] = []
        self.creatives: list[CreativePlan] = []
        self.clickers = Clickers()

    def run(self) -> dict[str, Any]:
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            # The counted clicks' build (links.counting.message_clicks_build) sorts an
            # account's raw clicks: in memory, not in temporary files.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            # Race: someone else inserting while ids are handed out. The tables are held
            # until the load commits (dropping their constraints would lock them anyway).
            cursor.execute(
                sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(
                    sql.SQL(", ").join(map(sql.Identifier, LOADED_TABLES))
                )
            )
            with self._timed("accounts"):
                self._accounts()
            # Into (nearly) empty tables, indexes are built once at the end; a small load
            # into big tables keeps them, rather than rebuild them over all the old rows.
            cursor.execute(
                "SELECT count(*) < %s FROM links_messageshortlinkclick", [self.size.clicks]
            )
            bulk = cursor.fetchone()[0]
            restore = secondary_indexes_drop(cursor, LOADED_TABLES) if bulk else []
            with self._timed("contacts"):
                self._contacts(cursor)
            with self._timed("messages"):
                self._messages(cursor)
            with self._timed("clicks"):
                self._clicks(cursor)
            with self._timed("conversions"):
                self._conversions(cursor)
            # The conversions are credited (one UPDATE of each) once the indexes that the
            # rule looks up are built, and before their own indexes and foreign keys: both
            # cheaper to build once than to keep up to date row by row.
            later = [s for s in restore if "attribution_conversion" in s.as_string(cursor)]
            with self._timed("indexes"):
                for statement in restore:
                    if statement not in later:
                        cursor.execute(statement)
            with self._timed("conversions"):
                self._conversions_attribute(cursor)
            with self._timed("indexes"):
                for statement in later:
                    cursor.execute(statement)
            with self._timed("fraud_flags"):
                self._fraud_flags(cursor)
            for table in LOADED_TABLES:
                sequence_past_max(cursor, table)
        with self._timed("analyze"), connection.cursor() as cursor:
            for table in LOADED_TABLES:
                cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
        return self._summary(time.perf_counter() - started)

    @contextmanager
    def _timed(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        # A step done in parts (the conversions, then their credit) sums its parts.
        self.timings[name] = round(self.timings.get(name, 0) + time.perf_counter() - started, 1)
        self.log(f"{name}: {self.timings[name]} s")

    def _summary(self, elapsed: float) -> dict[str, Any]:
        return {
            "elapsed_seconds": round(elapsed, 1),
            "seed": self.size.seed,
            "period": {"start": self.start.isoformat(), "end": self.end.isoformat()},
            "counts": self.counts,
            "timings": self.timings,
            "accounts": [
                {
                    "account_id": p.account.pk,
                    "name": p.account.name,
                    "time_zone": p.account.time_zone,
                    "tracking_domain": p.base_url,
                    "username": p.username,
                    "password": p.password,
                    "api_key": p.api_key,
                    "postback_token": p.postback_token,
                    "messages": p.messages,
                    "contacts": p.contacts,
                }
                for p in self.accounts
            ],
        }

    # -- accounts, contacts -----------------------------------------------------------------

    def _accounts(self) -> None:
        weights = [1 / (i + 1) for i in range(self.size.accounts)]
        for i, messages in enumerate(_split(self.size.messages, weights)):
            plan, lists, creatives = account_plan_create(i, messages, self.rng)
            self.accounts.append(plan)
            self.lists += lists
            self.creatives += creatives
        self.counts["accounts"] = len(self.accounts)

    def _contacts(self, cursor: Any) -> None:
        columns = ("id", "account_id", "external_id", "phone", "email", "created_at")
        rng, pk = self.rng, next_id(cursor, "trackly_contact")
        with copy_rows(cursor, "trackly_contact", columns) as write:
            for plan in self.accounts:
                plan.first_contact_id = pk
                for seq in range(plan.contacts):
                    external_id = f"sc-{plan.slug}-{seq}"
                    email = f"{external_id}@example.com" if seq % 5 < 2 else ""
                    phone = f"{plan.phone_prefix}{5_000_000 + seq:07d}"
                    joined = self.start - dt.timedelta(days=rng.uniform(0, 400))
                    write((pk, plan.account.pk, external_id, phone, email, joined))
                    pk += 1
        self.counts["contacts"] = sum(p.contacts for p in self.accounts)

    # -- messages and their links -----------------------------------------------------------

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
            counts = _split(plan.messages, [rng.uniform(0.5, 1.5) for _ in campaigns])
            for variants, count in zip(campaigns, counts, strict=True):
                blasts = self._blasts(tz)
                own_list = a * per_account + rng.randrange(per_account)
                sizes = _split(count, [rng.uniform(0.6, 1.4) for _ in blasts])
                for (blast_at, duration), n in zip(blasts, sizes, strict=True):
                    list_index = (
                        own_list
                        if rng.random() < 0.7
                        else a * per_account + rng.randrange(per_account)
                    )
                    audience = self.lists[list_index]
                    split = _cumulative([rng.uniform(0.7, 1.3) for _ in variants])
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
                   "sent_at", "created_at")  # fmt: skip
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
                    sent, sent,
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

    # -- raw clicks and first clicks --------------------------------------------------------

    def _click_events(self) -> tuple[array, array, array, array, array]:
        """Every raw click as (time, message index, agent, IP, link 1 or 2), unordered."""
        size, rng, who = self.size, self.rng, self.clickers
        count, span = len(self.msg_sent), self.span
        msg_sent, msg_link2, msg_contact = self.msg_sent, self.msg_link2, self.msg_contact
        bots = round(size.clicks * size.bot_share)
        humans = size.clicks - bots
        times, messages = array("q"), array("i")
        agents, ips, links = array("H"), array("I"), array("B")

        def add(at: int, since: int, m: int, agent: int, ip: int, link: int) -> None:
            if at > span:  # not happened yet: fold it back into the time there was
                at = since + int(rng.random() * (span - since))
            times.append(at)
            messages.append(m)
            agents.append(agent)
            ips.append(ip)
            links.append(link)

        msg_list = self.msg_list
        kinds = who.bot_kinds
        shares = _cumulative([k.share for k in kinds])
        for _ in range(bots):
            m = int(rng.random() * count)
            kind = kinds[bisect.bisect(shares, rng.random() * shares[-1])]
            link = 2 if kind.both_links and msg_link2[m] and rng.random() < 0.5 else 1
            # A fanning-out scanner works through a whole blast (one list) from one IP.
            ip = kind.ips[msg_list[m] % len(kind.ips)] if kind.fans_out else rng.choice(kind.ips)
            sent = msg_sent[m]
            add(sent + kind.delay(rng), sent, m, rng.choice(kind.agents), ip, link)

        # People: whether they click depends on campaign, creative and list.
        creatives, lists, msg_creative = self.creatives, self.lists, self.msg_creative
        clickers = [
            m
            for m in range(count)
            if rng.random()
            < min(0.9, creatives[msg_creative[m]].ctr * lists[msg_list[m]].ctr_factor)
        ]
        if len(clickers) > humans:
            clickers = sorted(rng.sample(clickers, humans))
        people, person_ips, other_ips = who.people, who.person_ips, who.other_ips
        for m, clicks in zip(clickers, _taps(rng, len(clickers), humans), strict=True):
            sent, contact = msg_sent[m], msg_contact[m]
            own_agent = people[contact % len(people)]
            own_ip = person_ips[contact % len(person_ips)]
            link2 = msg_link2[m] != 0
            first = sent + _first_click_delay(rng)
            if first > span:
                first = sent + 8 * SECOND + int(rng.random() * max(0, span - sent - 8 * SECOND))
            add(first, sent, m, own_agent, own_ip, 2 if link2 and rng.random() < 0.15 else 1)
            # A message tapped many times was forwarded: most taps from other phones.
            others = 0.8 if clicks > 5 else 0.1
            for _ in range(clicks - 1):
                link = 2 if link2 and rng.random() < 0.15 else 1
                if rng.random() < others:
                    add(first + _repeat_delay(rng), first, m, rng.choice(people),
                        rng.choice(other_ips), link)  # fmt: skip
                else:
                    add(first + _repeat_delay(rng), first, m, own_agent, own_ip, link)
        return times, messages, agents, ips, links

    def _clicks(self, cursor: Any) -> None:
        times, messages, agents_of, ips_of, links_of = self._click_events()
        self.clicked = bytearray(len(self.msg_sent))  # messages with any raw click
        for m in messages:
            self.clicked[m] = 1
        order = sorted(range(len(times)), key=times.__getitem__)
        self.log(f"clicks: {len(order):,} planned and put in time order")
        click_pk = next_id(cursor, "links_messageshortlinkclick")
        columns = ("id", "click_id", "account_id", "short_link_id", "message_id", "contact_id",
                   "clicked_at", "ip", "user_agent", "referer", "accept_language", "method",
                   "is_bot", "bot_reason", "judged_at")  # fmt: skip
        start, agents, ips = self.start, self.clickers.agents, self.clickers.ips
        msg_contact, msg_creative, msg_link1, msg_link2 = (
            self.msg_contact, self.msg_creative, self.msg_link1, self.msg_link2
        )  # fmt: skip
        account_of = [self.accounts[c.account].account.pk for c in self.creatives]
        language_of = [self.accounts[c.account].language for c in self.creatives]
        first_message_id = self.first_message_id
        judged_after = dt.timedelta(seconds=2)  # the behaviour worker has seen every click
        bot_clicks = 0
        with copy_rows(cursor, "links_messageshortlinkclick", columns) as write:
            for chunk_start in range(0, len(order), CHUNK):
                chunk = order[chunk_start : chunk_start + CHUNK]
                click_ids = _random_ids(len(chunk), 16)
                for j, e in enumerate(chunk):
                    m, agent = messages[e], agents[agents_of[e]]
                    on_link1 = links_of[e] == 1
                    clicked_at = start + dt.timedelta(microseconds=times[e])
                    creative = msg_creative[m]
                    write((
                        click_pk, click_ids[j], account_of[creative],
                        msg_link1[m] if on_link1 else msg_link2[m], first_message_id + m,
                        msg_contact[m], clicked_at, ips[ips_of[e]], agent.user_agent, "",
                        language_of[creative] if agent.sends_language else "", agent.method,
                        agent.is_bot, agent.reason, clicked_at + judged_after,
                    ))  # fmt: skip
                    bot_clicks += agent.is_bot
                    click_pk += 1
        self.counts["raw_clicks"] = len(order)
        self.counts["bot_clicks"] = bot_clicks
        del order, times, messages, agents_of, ips_of, links_of

        # The counted clicks by the product's rule (links.counting), from the raw clicks
        # just copied; then read back, in time order, for the conversions to credit.
        for plan in self.accounts:
            message_clicks_build(cursor, account_id=plan.account.pk)
        cursor.execute(
            "SELECT mc.id, mc.message_id, mc.offer_id, mc.clicked_at, mc.raw_click_id, r.click_id"
            " FROM links_messageclick mc JOIN links_messageshortlinkclick r ON r.id = mc.raw_click_id"
            " WHERE mc.account_id = ANY(%s) ORDER BY mc.clicked_at, mc.raw_click_id",
            [[plan.account.pk for plan in self.accounts]],
        )
        microsecond = dt.timedelta(microseconds=1)
        self.first_clicks = [
            FirstClick(
                id=pk, message=message_id - self.first_message_id, offer_id=offer_id,
                clicked_at=(clicked_at - start) // microsecond, click_pk=click_pk,
                click_id=click_id,
            )
            for pk, message_id, offer_id, clicked_at, click_pk, click_id in cursor.fetchall()
        ]  # fmt: skip
        self.counts["message_clicks"] = len(self.first_clicks)

    # -- conversions and their postbacks ----------------------------------------------------

    def _conversions(self, cursor: Any) -> None:
        rng, total = self.rng, self.size.conversions
        clicked, view_through, offer_level, _ = _split(total, CONVERSION_MIX)
        rows = self._attributed(clicked) + self._view_through(view_through)
        # Too few clicks, or no message left unclicked: the rest arrive without a contact.
        offer_level += clicked + view_through - len(rows)
        rows += self._unattributed(offer_level, contact_level=False)
        rows += self._unattributed(total - len(rows), contact_level=True)
        rows.sort(key=lambda r: r["received_at"])

        conversion_pk = next_id(cursor, "attribution_conversion")
        log_pk = next_id(cursor, "attribution_postbacklog")
        logs: list[tuple[Any, ...]] = []
        for row in rows:
            row["id"], conversion_pk = conversion_pk, conversion_pk + 1
            row["txn_id"] = f"T{self.size.seed}-{row['id']}"
            row["postback_log_id"] = log_pk
            logs.append(self._postback_log(row, log_pk, "accepted"))
            log_pk += 1
            if rng.random() < 0.03:  # the network sent it again
                logs.append(self._postback_log(row, log_pk, "duplicate"))
                log_pk += 1

        columns = ("id", "account_id", "endpoint", "method", "host", "query", "body", "ip",
                   "user_agent", "received_at", "outcome", "reason", "http_status")  # fmt: skip
        with copy_rows(cursor, "attribution_postbacklog", columns) as write:
            for log in logs:
                write(log)
        columns = ("id", "account_id", "txn_id", "event", "revenue", "revenue_reported",
                   "currency", "occurred_at", "received_at", "status", "attribution_type",
                   "unattributed_reason", "reported_click_id", "reported_link_id",
                   "message_click_id", "raw_click_id", "message_id", "contact_id", "offer_id",
                   "campaign_id", "creative_id", "postback_log_id")  # fmt: skip
        with copy_rows(cursor, "attribution_conversion", columns) as write:
            for row in rows:
                write([row[c] for c in columns])
        self.counts["conversions"] = len(rows)
        self.counts["postback_logs"] = len(logs)
        self.conversion_ids = (rows[0]["id"], rows[-1]["id"]) if rows else None

    def _conversions_attribute(self, cursor: Any) -> None:
        """Credit the contacts' conversions by the product's rule, in one statement, once
        the indexes it looks up are built."""
        kinds = dict.fromkeys(("direct", "click_through", "view_through", "offer", "none"), 0)
        if self.conversion_ids is not None:
            first, last = self.conversion_ids
            conversions_attribute(cursor, first_id=first, last_id=last)
            cursor.execute(
                "SELECT attribution_type, count(*) FROM attribution_conversion"
                " WHERE id BETWEEN %s AND %s GROUP BY attribution_type",
                [first, last],
            )
            kinds.update(cursor.fetchall())
        for kind, count in kinds.items():
            self.counts[f"conversions_{kind}"] = count

    def _attributed(self, count: int) -> list[dict[str, Any]]:
        """Postbacks naming a person's click (`click_id`) on an offer, some at once, most
        within the window; attribution.rules credits them (`conversions_attribute`), maybe
        to an earlier message's click than the one named."""
        rng = self.rng
        candidates = [c for c in self.first_clicks if c.offer_id is not None]
        if not candidates:
            return []
        out = []
        for _ in range(count):
            named = rng.choice(candidates)
            plan, offer = self._offer_of(named.message)
            window = offer.window_days * DAY
            if rng.random() < 0.45:  # bought at once; a few too soon to be true (injection)
                soonest = 3 * SECOND if rng.random() < 0.01 else 12 * SECOND
                delay = min(soonest + int(rng.expovariate(1 / (6 * MINUTE))), 29 * MINUTE)
            else:
                delay = min(int(rng.expovariate(1 / (30 * HOUR))), window - SECOND)
            out.append(
                self._conversion(
                    plan=plan,
                    offer=offer,
                    occurred=min(named.clicked_at + delay, self.span),
                    contact=self.msg_contact[named.message],
                    reported_click_id=named.click_id,
                    reported_link=self._link_of(named),
                )  # fmt: skip
            )
        return out

    def _view_through(self, count: int) -> list[dict[str, Any]]:
        """Postbacks naming the link of a contact who received the offer and never clicked
        it (no message of that contact on that offer has any raw click): view-through, by
        attribution.rules."""
        rng, msg_sent = self.rng, self.msg_sent
        unclicked = [m for m in range(len(msg_sent)) if not self.clicked[m]]
        if not unclicked or not count:
            return []
        wanted = {
            self._key_of_message(m) for m in rng.sample(unclicked, min(len(unclicked), 3 * count))
        }
        by_key: dict[tuple[int, int], list[int]] = {}
        for m in range(len(msg_sent)):
            key = self._key_of_message(m)
            if key in wanted:
                by_key.setdefault(key, []).append(m)
        never_clicked = [ms for ms in by_key.values() if not any(self.clicked[m] for m in ms)]
        if not never_clicked:
            return []
        out = []
        for _ in range(count):
            named = rng.choice(rng.choice(never_clicked))
            plan, offer = self._offer_of(named)
            delay = min(MINUTE + int(rng.expovariate(1 / (20 * HOUR))), offer.window_days * DAY)
            out.append(
                self._conversion(
                    plan=plan,
                    offer=offer,
                    occurred=min(msg_sent[named] + delay, self.span),
                    contact=self.msg_contact[named],
                    reported_link=self.msg_link1[named],
                )  # fmt: skip
            )
        return out

    def _unattributed(self, count: int, *, contact_level: bool) -> list[dict[str, Any]]:
        """Offer-level postbacks (no contact named), or a contact's conversion on the
        partner offer, which no message carried."""
        rng, out = self.rng, []
        weights = _cumulative([p.messages for p in self.accounts])
        for _ in range(count):
            plan = self.accounts[bisect.bisect(weights, rng.random() * weights[-1])]
            occurred = int(self.span * rng.uniform(0.02, 1))
            if contact_level:
                offer = plan.partner_offer
                assert offer is not None
                row = self._conversion(
                    plan=plan, offer=offer, occurred=occurred,
                    contact=plan.first_contact_id + rng.randrange(plan.contacts),
                )  # fmt: skip
            else:
                offer = rng.choice(plan.offers)
                row = self._conversion(
                    plan=plan, offer=offer, occurred=occurred, attribution_type="offer",
                    reason="offer-level conversion: no contact named",
                )  # fmt: skip
            out.append(row)
        return out

    def _conversion(
        self, *, plan: AccountPlan, offer: OfferPlan, occurred: int, attribution_type: str = "none",
        reason: str = "", contact: int | None = None, reported_click_id: str = "",
        reported_link: int | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """A conversion as its postback reported it; a contact's is credited (or not) by
        attribution.rules once the load is in (ScaleFill._conversions_attribute)."""
        rng = self.rng
        cents = max(100, int(offer.payout_cents * rng.lognormvariate(0, 0.35)))
        late = rng.expovariate(1 / 20) if rng.random() < 0.97 else rng.uniform(600, 7200)
        occurred_at = self.start + dt.timedelta(microseconds=occurred)
        return {
            "account_id": plan.account.pk,
            "event": offer.event,
            "revenue": Decimal(cents) / 100,
            "revenue_reported": True,
            "currency": plan.account.currency,
            "occurred_at": occurred_at,
            "received_at": min(occurred_at + dt.timedelta(seconds=1 + late), self.end),
            "status": "accepted",
            "attribution_type": attribution_type,
            "unattributed_reason": reason,
            "reported_click_id": reported_click_id,
            "reported_link_id": reported_link,
            "message_click_id": None,
            "raw_click_id": None,
            "message_id": None,
            "contact_id": contact,
            "offer_id": offer.id,
            "campaign_id": None,
            "creative_id": None,
            "plan": plan,
        }

    def _postback_log(self, row: dict[str, Any], pk: int, outcome: str) -> tuple[Any, ...]:
        plan: AccountPlan = row["plan"]
        extra = f"txn_id={row['txn_id']}&revenue={row['revenue']}&event={row['event']}"
        # As the log keeps them: the network's token (/conv) and the offer's secret redacted.
        token = f"token={REDACTED}"
        if row["reported_click_id"]:
            endpoint, query = "conv", f"click_id={row['reported_click_id']}&{token}&{extra}"
        elif row["reported_link_id"]:
            endpoint, query = "conv", f"link_id={row['reported_link_id']}&{token}&{extra}"
        else:
            contact = f"contact={row['contact_id']}&" if row["contact_id"] else ""
            endpoint = "conv/offer"
            query = f"offer_id={row['offer_id']}&secret={REDACTED}&{contact}{extra}"
        received = row["received_at"]
        if outcome == "duplicate":
            received = min(received + dt.timedelta(seconds=self.rng.uniform(1, 300)), self.end)
        ip = self.clickers.ips[self.rng.choice(self.clickers.other_ips)]
        host = plan.base_url.removeprefix("https://")
        return (pk, plan.account.pk, endpoint, "GET", host, query, "", ip, "PostbackClient/1.0",
                received, outcome, "", 200)  # fmt: skip

    def _offer_of(self, m: int) -> tuple[AccountPlan, OfferPlan]:
        creative = self.creatives[self.msg_creative[m]]
        plan = self.accounts[creative.account]
        return plan, plan.offers[creative.offer]

    def _key_of_message(self, m: int) -> tuple[int, int]:
        return self.msg_contact[m], self._offer_of(m)[1].id

    def _link_of(self, first_click: FirstClick) -> int:
        m = first_click.message
        return self.msg_link1[m] if first_click.offer_id is not None else self.msg_link2[m]

    # -- fraud flags, from what was loaded --------------------------------------------------

    def _fraud_flags(self, cursor: Any) -> None:
        """The flags the behaviour checks raise: scanner IPs opening many contacts' links in
        a minute (the busiest 50 per account), conversions seconds after their click."""
        account_ids = [p.account.pk for p in self.accounts]
        cursor.execute(
            """
            INSERT INTO attribution_fraudflag
                (account_id, kind, key, evidence, ip, raw_click_id, created_at, updated_at)
            SELECT account_id, 'click_flood',
                   host(ip) || '@' || to_char(minute AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI'),
                   jsonb_build_object('ip', host(ip), 'contacts', contacts, 'clicks', clicks,
                                      'window_seconds', 60, 'around', minute),
                   ip, first_click, minute, minute
            FROM (
                SELECT account_id, ip, date_trunc('minute', clicked_at) AS minute,
                       count(DISTINCT contact_id) AS contacts, count(*) AS clicks,
                       min(id) AS first_click,
                       row_number() OVER (PARTITION BY account_id ORDER BY count(*) DESC) AS rank
                FROM links_messageshortlinkclick
                WHERE account_id = ANY(%s) AND bot_reason = 'behaviour:ip-fanout'
                GROUP BY account_id, ip, date_trunc('minute', clicked_at)
            ) AS bursts
            WHERE rank <= 50 AND contacts >= 5
            ON CONFLICT DO NOTHING
            """,
            [account_ids],
        )
        floods = cursor.rowcount
        cursor.execute(
            """
            INSERT INTO attribution_fraudflag
                (account_id, kind, key, evidence, conversion_id, raw_click_id, created_at, updated_at)
            SELECT c.account_id, 'click_injection', 'conversion:' || c.id,
                   jsonb_build_object(
                       'seconds_after_click',
                       round(extract(epoch FROM c.occurred_at - mc.clicked_at)::numeric, 3),
                       'threshold_seconds', %s, 'txn_id', c.txn_id),
                   c.id, c.raw_click_id, c.received_at, c.received_at
            FROM attribution_conversion AS c
            JOIN links_messageclick AS mc ON mc.id = c.message_click_id
            WHERE c.account_id = ANY(%s)
              AND c.occurred_at - mc.clicked_at < make_interval(secs => %s)
            ON CONFLICT DO NOTHING
            """,
            [settings.FRAUD_CLICK_INJECTION_SECONDS, account_ids,
             settings.FRAUD_CLICK_INJECTION_SECONDS],
        )  # fmt: skip
        self.counts["fraud_flags"] = floods + cursor.rowcount


# -- helpers ------------------------------------------------------------------------------


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """`total` in parts proportional to `weights`, summing exactly to `total`."""
    whole = sum(weights)
    parts = [int(total * w / whole) for w in weights]
    for i in range(total - sum(parts)):
        parts[i % len(parts)] += 1
    return parts


def _cumulative(weights: Sequence[float]) -> list[float]:
    out, running = [], 0.0
    for w in weights:
        running += w
        out.append(running)
    return out


def _taps(rng: random.Random, clickers: int, total: int) -> list[int]:
    """How many times each clicked message is tapped, `total` in all: most once or twice;
    what is left goes to the forwarded ones (a sixth), with a heavy tail, as a message
    shared to a group chat is opened on many phones."""
    taps = [1] * clickers
    extra = total - clickers
    for i in range(clickers):
        while extra > 0 and rng.random() < 0.3:
            taps[i] += 1
            extra -= 1
    if clickers and extra > 0:
        shared = rng.sample(range(clickers), max(1, clickers // 6))
        weights = _cumulative([rng.lognormvariate(0, 1.0) for _ in shared])
        for i in rng.choices(shared, cum_weights=weights, k=extra):
            taps[i] += 1
    return taps


def _first_click_delay(rng: random.Random) -> int:
    """When a person first taps: most within the hour, some that evening, a few days later;
    never inside the scanner window after the send."""
    roll = rng.random()
    mean = 15 * MINUTE if roll < 0.55 else 4 * HOUR if roll < 0.85 else 36 * HOUR
    return 8 * SECOND + int(rng.expovariate(1 / mean))


def _repeat_delay(rng: random.Random) -> int:
    mean = 10 * MINUTE if rng.random() < 0.6 else 12 * HOUR
    return SECOND + int(rng.expovariate(1 / mean))


_TO_ALPHANUMERIC = bytes.maketrans(b"+/", b"Xq")


def _random_ids(count: int, length: int) -> list[str]:
    """`count` ids of `length` characters of [A-Za-z0-9], in bulk.

    From the OS's random source, not the seed: two loads with one seed into one database
    must not make the same click ids. Base64 of random bytes with '+' and '/' replaced:
    two letters come up twice as often as the others, which costs a fraction of a bit of
    entropy per character and nothing in realism.
    """
    raw = os.urandom(math.ceil(count * length * 3 / 4) + 3)
    text = base64.b64encode(raw).translate(_TO_ALPHANUMERIC).decode()
    return [text[i : i + length] for i in range(0, count * length, length)]


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
                self.pool = _random_ids(CHUNK, 7)
            link_id = self.pool.pop()
            if link_id not in self.taken:
                self.taken.add(link_id)
                return link_id
