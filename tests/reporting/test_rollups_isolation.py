"""The rollup build isolates each account and day: one that cannot be built is logged
with its account and day and stays marked for the next build, and every other account's
(and day's, and message's) figures are built. A year-1 `sent_at` once stopped every
account's reports until the row was deleted by hand."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import threading
import time
import zoneinfo
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.models import Account, Contact, Message
from reporting.models import DailyRollup, DirtyHour, DirtyMessage, MessageRollup
from reporting.services import BUILD_LOCK, rollups_build
from tests.conftest import AccountFixture

YEAR_1 = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
YEAR_9999 = dt.datetime(9999, 12, 31, 23, tzinfo=dt.UTC)


def bad_message(account: AccountFixture, sent_at: dt.datetime = YEAR_1) -> Message:
    """A message sent at `sent_at`, written straight to the database as old data would be."""
    contact = Contact.objects.create(account=account.account, external_id="old")
    return Message.objects.create(
        account=account.account, contact=contact, body="x", rewritten_body="x", sent_at=sent_at
    )


def sends(account: AccountFixture, day: dt.date) -> int:
    rows = DailyRollup.objects.filter(account=account.account, day=day)
    return sum(r.sends for r in rows)


def failures(caplog: Any) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "reporting.services" and r.levelno == logging.ERROR
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("zone", "sent_at"),
    [
        # Year 1 at 00:00 UTC is a day before year 1 in New York.
        ("America/New_York", YEAR_1),
        # The last hour of 9999 is in year 10000 on Kiritimati (UTC+14).
        ("Pacific/Kiritimati", YEAR_9999),
    ],
)
def test_a_day_that_cannot_be_built_fails_alone_logged_and_kept_for_the_next_build(
    make_account: Any,
    outsider: AccountFixture,
    caplog: Any,
    zone: str,
    sent_at: dt.datetime,
) -> None:
    owner = make_account(time_zone=zone)
    owner.mint()
    outsider.mint()
    bad_message(owner, sent_at)
    caplog.set_level(logging.ERROR, logger="reporting.services")

    result = rollups_build()

    today = timezone.now().date()
    assert sends(outsider, today) == 1  # every other account is built
    assert sends(owner, timezone.now().astimezone(zoneinfo.ZoneInfo(zone)).date()) == 1
    assert result.failed == 1
    day = f"{sent_at.date().isoformat()} (UTC)"  # it has no local day to name
    assert [m for m in failures(caplog) if f"account {owner.account.pk}, day {day}" in m]
    assert DirtyHour.objects.filter(account_id=owner.account.pk, hour=sent_at).exists()

    outsider.mint()
    assert rollups_build().failed == 1  # tried again, and failing alone again
    assert sends(outsider, today) == 2
    assert DirtyHour.objects.filter(account_id=owner.account.pk, hour=sent_at).exists()

    Message.objects.filter(sent_at=sent_at).delete()  # the row put right
    assert rollups_build().failed == 0
    assert not DirtyHour.objects.exists()


@pytest.mark.django_db
def test_a_year_1_send_in_utc_is_built_like_any_other(owner: AccountFixture) -> None:
    # Its day exists in UTC; only the days around it are past a Python date.
    bad_message(owner)
    assert rollups_build().failed == 0
    assert sends(owner, YEAR_1.date()) == 1
    assert not DirtyHour.objects.exists()


@pytest.mark.django_db
def test_a_full_rebuild_builds_every_other_day_of_the_account_and_every_other_account(
    make_account: Any, outsider: AccountFixture, caplog: Any
) -> None:
    # The embedded SQLite default rebuilds everything on every build; in New York the
    # year-1 row's day is one PostgreSQL holds and Python cannot read.
    owner = make_account(time_zone="America/New_York")
    owner.mint(sent_at="2026-01-05T15:00:00Z")
    outsider.mint(sent_at="2026-01-05T15:00:00Z")
    bad_message(owner)
    rollups_build()
    DailyRollup.objects.all().delete()
    caplog.set_level(logging.WARNING, logger="reporting.services")

    result = rollups_build(everything=True)

    assert sends(owner, dt.date(2026, 1, 5)) == 1 and sends(outsider, dt.date(2026, 1, 5)) == 1
    assert result.failed == 1
    assert [m for m in failures(caplog) if f"account {owner.account.pk}, day 0001-01-01" in m]
    assert DirtyHour.objects.filter(account_id=owner.account.pk, hour=YEAR_1).exists()
    assert not DirtyHour.objects.filter(account_id=outsider.account.pk).exists()


@pytest.mark.django_db
def test_of_a_run_of_days_only_the_one_that_fails_is_left_unbuilt(
    owner: AccountFixture, caplog: Any
) -> None:
    for n in range(1, 8):
        owner.mint(sent_at=f"2026-01-0{n}T12:00:00Z")
    # PostgreSQL refuses 2026-01-04's row: any day whose figures cannot be stored.
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE reporting_dailyrollup ADD CONSTRAINT test_refused_day "
            "CHECK (day <> DATE '2026-01-04')"
        )
    caplog.set_level(logging.ERROR, logger="reporting.services")

    result = rollups_build()

    built = sorted(DailyRollup.objects.values_list("day", flat=True))
    assert built == [dt.date(2026, 1, n) for n in (1, 2, 3, 5, 6, 7)]
    assert result.failed == 1
    assert [m for m in failures(caplog) if f"account {owner.account.pk}, day 2026-01-04" in m]
    kept = DirtyHour.objects.filter(account_id=owner.account.pk).values_list("hour", flat=True)
    assert list(kept) == [dt.datetime(2026, 1, 4, 12, tzinfo=dt.UTC)]


@pytest.mark.django_db
def test_a_message_that_cannot_be_built_fails_alone_and_stays_marked(
    owner: AccountFixture, outsider: AccountFixture, caplog: Any
) -> None:
    minted = [owner.mint() for _ in range(5)]
    other = outsider.mint()
    refused = minted[2]["id"]
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE reporting_messagerollup ADD CONSTRAINT test_refused_message "
            f"CHECK (message_id <> {int(refused)})"
        )
    caplog.set_level(logging.ERROR, logger="reporting.services")

    result = rollups_build()

    rows = set(MessageRollup.objects.values_list("message_id", flat=True))
    assert rows == {m["id"] for m in minted if m["id"] != refused} | {other["id"]}
    assert result.failed == 1
    assert [m for m in failures(caplog) if f"message {refused} of account {owner.account.pk}" in m]
    assert DirtyMessage.marked() == {refused}


@pytest.mark.django_db
def test_an_account_whose_time_zone_this_machine_lacks_fails_alone(
    owner: AccountFixture, outsider: AccountFixture, caplog: Any
) -> None:
    # Written around the model's validator, as a raw UPDATE would (or a zone that a newer
    # tzdata dropped).
    minted = owner.mint()
    outsider.mint()
    Account.objects.filter(pk=owner.account.pk).update(time_zone="Mars/Olympus_Mons")
    caplog.set_level(logging.ERROR, logger="reporting.services")

    rollups_build()

    assert sends(outsider, timezone.now().date()) == 1
    assert [m for m in failures(caplog) if f"account {owner.account.pk}, every day" in m]
    assert DirtyHour.objects.filter(account_id=owner.account.pk).exists()
    assert DirtyMessage.marked() == {minted["id"]}


def queued(cursor: Any) -> int:
    """How many sessions of this database wait for the build lock."""
    cursor.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND objid = %s AND database = (SELECT oid FROM pg_database "
        "WHERE datname = current_database())",
        [BUILD_LOCK],
    )
    return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_two_builds_at_once_each_pass_over_a_failing_hour_and_end(make_account: Any) -> None:
    # Each build marks the hour again for the next build; the other must not take that
    # marker as new work, or the two would hand the hour back and forth for ever.
    owner = make_account(time_zone="America/New_York")
    owner.mint()
    bad_message(owner)
    done: list[Any] = []

    def build() -> None:
        try:
            done.append(rollups_build())
        finally:
            connection.close()

    threads = [threading.Thread(target=build, daemon=True) for _ in range(2)]
    with transaction.atomic(), connection.cursor() as cursor:
        # Both builds queue behind the build lock, then run their steps in turns.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [BUILD_LOCK])
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while queued(cursor) < 2:
            assert time.monotonic() < deadline, "the builds never queued for the lock"
            time.sleep(0.01)
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert len(done) == 2 and sum(result.failed for result in done) == 2
    assert DirtyHour.objects.filter(account_id=owner.account.pk, hour=YEAR_1).exists()


# Run by manage.py shell on the embedded default (SQLite, no Redis): two accounts, one
# with a year-1 send in New York, then a build; prints what was built and kept.
_SQLITE_BUILD = """
import datetime as dt, json
from reporting.models import DailyRollup, DirtyHour, DirtyMessage, MessageRollup
from reporting.services import BUILD_LOCK, rollups_build
from core.models import Account, Contact, Message

for name, zone in (("bad", "America/New_York"), ("good", "UTC")):
    account = Account.objects.create(name=name, time_zone=zone)
    contact = Contact.objects.create(account=account, external_id="c")
    sent = [dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC)]
    if name == "bad":
        sent.append(dt.datetime(1, 1, 1, tzinfo=dt.UTC))
    for sent_at in sent:
        Message.objects.create(account=account, contact=contact, body="x",
                               rewritten_body="x", sent_at=sent_at)
result = rollups_build()
print(json.dumps({
    "failed": result.failed,
    "days": sorted([a, str(d), n] for a, d, n in
                   DailyRollup.objects.values_list("account__name", "day", "sends")),
    "messages": sorted(MessageRollup.objects.values_list("account__name", flat=True)),
    "kept_hours": [str(h) for h in DirtyHour.objects.values_list("hour", flat=True)],
    "kept_messages": len(DirtyMessage.marked()),
}))
"""


def test_the_embedded_sqlite_build_survives_such_a_row(tmp_path: Any) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'embedded.sqlite3'}"
    manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True, capture_output=True)
    out = subprocess.run(
        [*manage, "shell", "-c", _SQLITE_BUILD], env=env, check=True, capture_output=True
    )
    built = json.loads(out.stdout.decode().strip().splitlines()[-1])
    assert built["days"] == [["bad", "2026-01-05", 1], ["good", "2026-01-05", 1]]
    assert built["messages"] == ["bad", "good"]  # the year-1 message is not among them
    assert built["failed"] == 2 and built["kept_messages"] == 1
    assert built["kept_hours"] == ["0001-01-01 00:00:00+00:00"]
    assert b"could not be built" in out.stderr
