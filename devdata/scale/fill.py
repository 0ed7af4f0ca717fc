"""The load itself, in order: ScaleSize (how much), ScaleFill.run() (the tables locked, their
secondary indexes dropped and restored around the COPYs, each step timed, the summary), and
the accounts planned from the catalogue. Each table's rows are made by a step of its own:
contacts.py, messages.py (and their links), clicks.py (raw and counted), conversions.py (and
their postbacks), fraud.py.

Messages are numbered in send order and clicks in click order (as ingestion numbers them),
so ids follow time. Times are integer microseconds from the start of the period until they
are written.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from psycopg import sql

from devdata.scale.catalogue import (
    AccountPlan,
    Clickers,
    CreativePlan,
    ListPlan,
    account_plan_create,
)
from devdata.scale.clicks import ClicksStep
from devdata.scale.contacts import ContactsStep
from devdata.scale.conversions import ConversionsStep
from devdata.scale.draw import total_split
from devdata.scale.fraud import FraudFlagsStep
from devdata.scale.messages import MessagesStep
from devdata.scale.pg import partitions_cover, secondary_indexes_drop, sequence_past_max

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


class ScaleFill(ContactsStep, MessagesStep, ClicksStep, ConversionsStep, FraudFlagsStep):
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
            with self._timed("partitions"):
                made = partitions_cover(cursor, LOADED_TABLES, self.start, self.end)
            self.counts["partitions_made"] = len(made)
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
            # And the rollups' stale markers that the tables' triggers wrote: without their
            # statistics the first build's next-messages query scans every marker, each step
            # (2026-12-03, 10M: 4 million markers, some 8 s a step of 5,000 messages).
            for table in (*LOADED_TABLES, "reporting_dirtymessage", "reporting_dirtyhour"):
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
        for i, messages in enumerate(total_split(self.size.messages, weights)):
            plan, lists, creatives = account_plan_create(i, messages, self.rng)
            self.accounts.append(plan)
            self.lists += lists
            self.creatives += creatives
        self.counts["accounts"] = len(self.accounts)
