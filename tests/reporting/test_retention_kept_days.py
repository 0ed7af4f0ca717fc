"""Retention and the days it keeps: a counted click keeps its raw click's traits, so a kept
day's conversion credited to a pruned click stays on its device, OS and country after a
rebuild; a time-zone change and a list's bot-detection switch apply only to the days whose
raw clicks are kept, the days past retention keeping their figures."""

from __future__ import annotations

import datetime as dt
import io
import zoneinfo
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from core.models import Account, Message, SendingList
from links import counting
from links.models import MessageClick, MessageShortLinkClick
from reporting.models import TRAIT_DIMENSIONS, MessageRollup
from tests.reporting.dataset import Dataset, click, convert, offer_make
from tests.reporting.test_reports import build, fetch_all

pytestmark = pytest.mark.django_db

RETENTION, WINDOW = 60, 30


def account_set(owner: Any, time_zone: str = "UTC") -> Dataset:
    Account.objects.filter(pk=owner.account.pk).update(
        data_retention_days=RETENTION, default_click_window_days=WINDOW, time_zone=time_zone
    )
    owner.account.refresh_from_db()
    data = Dataset(owner)
    data.offers = {"A": offer_make(owner, "Offer A")}
    return data


def at_day(days_ago: int, hour: int, minute: int = 0) -> dt.datetime:
    day = (timezone.now() - dt.timedelta(days=days_ago)).date()
    return dt.datetime.combine(day, dt.time(hour, minute), dt.UTC)


def message_days(message: Message) -> list[dt.date]:
    """The messages report's day of `message` (one row per offer it carries)."""
    return list(MessageRollup.objects.filter(message=message).values_list("day", flat=True))


def apply_retention() -> None:
    call_command("apply_retention", stdout=io.StringIO())


def daily(owner: Any) -> dict[str, dict[str, Any]]:
    return fetch_all(owner, "days")["rows"]


def test_a_kept_days_conversion_keeps_its_pruned_clicks_traits(owner: Any) -> None:
    data = account_set(owner)
    # Clicked 70 days ago (past retention), converted 45 days ago (inside the click window
    # then, and a kept day now).
    data.mint("old", f"{at_day(70, 10):%Y-%m-%d %H:%M}", {"a": data.offers["A"]})
    click(data.link("old"), at_day(70, 10, 5))
    convert(owner, data.messages["old"], data.offers["A"], at_day(45, 12), "9.00", "t-kept")
    # The judge fills in a click's place after the counted click was made: the counted
    # click's copy follows (links 0014's trigger), whoever writes it.
    MessageShortLinkClick.objects.update(country="FR")
    assert MessageClick.objects.get().country == "FR"
    build()
    kept_day = at_day(45, 12).date().isoformat()
    traits = {d: fetch_all(owner, d) for d in TRAIT_DIMENSIONS if d != "variants"}
    on_kept_day = {
        d: fetch_all(owner, d, start=kept_day, end=kept_day)
        for d in TRAIT_DIMENSIONS
        if d != "variants"
    }
    # The conversion is on the iPhone's traits, not the no-click ones.
    assert on_kept_day["devices"]["rows"]["mobile"]["conversions"] == 1
    assert on_kept_day["countries"]["rows"]["FR"]["conversions"] == 1
    assert MessageClick.objects.get().device == "mobile"

    apply_retention()
    assert not MessageShortLinkClick.objects.exists()
    call_command("build_rollups", "--full", stdout=io.StringIO())

    assert {d: fetch_all(owner, d) for d in TRAIT_DIMENSIONS if d != "variants"} == traits
    assert {
        d: fetch_all(owner, d, start=kept_day, end=kept_day)
        for d in TRAIT_DIMENSIONS
        if d != "variants"
    } == on_kept_day


def first_kept_day() -> dt.date:
    """Retention's first kept day for the accounts here (UTC, RETENTION days)."""
    return (timezone.now() - dt.timedelta(days=RETENTION)).date()


def figures(rows: dict[str, dict[str, Any]], before: dt.date | None = None) -> dict[str, Any]:
    """The days report's rows (of the days before `before`, if given), by day."""
    return {
        day: {f: row[f] for f in ("sends", "raw_clicks", "bot_clicks", "unique_clicks")}
        for day, row in rows.items()
        if before is None or dt.date.fromisoformat(day) < before
    }


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/New_York"])
def test_a_time_zone_change_cuts_again_only_the_kept_days(owner: Any, zone: str) -> None:
    data = account_set(owner)  # UTC
    kept = first_kept_day()
    seam = dt.datetime.combine(kept, dt.time(), dt.UTC)  # retention's cutoff, in UTC
    # Past retention, sent and clicked late in a UTC day (the next day in Tokyo).
    data.mint("old", f"{at_day(90, 23, 30):%Y-%m-%d %H:%M}", {"a": data.offers["A"]})
    click(data.link("old"), at_day(90, 23, 40))
    # Either side of the cutoff: the day before it is past retention, the one after kept.
    data.mint("eve", f"{seam - dt.timedelta(hours=4):%Y-%m-%d %H:%M}", {"a": None})
    data.mint("dawn", f"{seam + dt.timedelta(hours=2):%Y-%m-%d %H:%M}", {"a": None})
    # Kept: one moves to the next day in Tokyo, one to the day before in New York.
    late, early = at_day(5, 23, 30), at_day(3, 2)
    data.mint("late", f"{late:%Y-%m-%d %H:%M}", {"a": data.offers["A"]})
    click(data.link("late"), late + dt.timedelta(minutes=10))
    data.mint("early", f"{early:%Y-%m-%d %H:%M}", {"a": data.offers["A"]})
    click(data.link("early"), early + dt.timedelta(minutes=10))
    build()
    apply_retention()
    assert MessageShortLinkClick.objects.count() == 2  # the old click is gone
    before = figures(daily(owner))
    old_message_day = message_days(data.messages["old"])

    Account.objects.filter(pk=owner.account.pk).update(time_zone=zone)
    build()

    after = figures(daily(owner))
    # The days past retention keep their figures, cut in UTC.
    assert figures(daily(owner), kept) == figures(before, kept) != {}
    assert message_days(data.messages["old"]) == old_message_day
    # The kept days are cut in the new zone; the first takes the hours from the UTC cutoff
    # (each send on one day: none lost, none twice).
    local = zoneinfo.ZoneInfo(zone)
    for moment in (late, early):
        day = moment.astimezone(local).date().isoformat()
        assert after[day]["sends"] == 1 and after[day]["unique_clicks"] == 1, day
    assert after[kept.isoformat()]["sends"] == 1  # "dawn", whatever its day in the zone
    assert after[(kept - dt.timedelta(days=1)).isoformat()]["sends"] == 1  # "eve", kept
    assert sum(r["sends"] for r in after.values()) == sum(r["sends"] for r in before.values())
    assert sum(r["unique_clicks"] for r in after.values()) == 3
    assert (late.astimezone(local).date() != late.date()) or (
        early.astimezone(local).date() != early.date()
    )  # the change moved a kept day


def test_a_lists_bot_detection_switch_applies_only_to_kept_raw_clicks(owner: Any) -> None:
    data = account_set(owner)
    members = SendingList.objects.create(account=owner.account, name="Members")
    # Past retention: a scanner, then the person (the counted click); the person taps the
    # old message again yesterday (a kept raw click of the same pair).
    data.mint("old", f"{at_day(70, 10):%Y-%m-%d %H:%M}", {"a": data.offers["A"]}, list="Members")
    click(data.link("old"), at_day(70, 10, 1), bot=True)
    person = click(data.link("old"), at_day(70, 10, 5))
    click(data.link("old"), at_day(1, 9))
    # Kept: only a scanner, counted once the list stops detecting bots.
    data.mint("new", f"{at_day(2, 10):%Y-%m-%d %H:%M}", {"a": data.offers["A"]}, list="Members")
    scanner = click(data.link("new"), at_day(2, 10, 1), bot=True)
    build()
    apply_retention()
    old_day, new_day = at_day(70, 0).date().isoformat(), at_day(2, 0).date().isoformat()
    before = figures(daily(owner))
    assert before[old_day]["unique_clicks"] == 1 and before[new_day]["unique_clicks"] == 0

    counting.sending_list_bot_detection_set(list_id=members.pk, enabled=False)
    build()

    after = figures(daily(owner))
    # The pruned day keeps its counted click (the person's: the scanner before it is gone).
    assert after[old_day] == before[old_day]
    old_counted = MessageClick.objects.get(message=data.messages["old"])
    assert old_counted.raw_click_id == person.pk
    # The kept day's scanner now counts.
    assert after[new_day]["unique_clicks"] == 1
    assert MessageClick.objects.get(message=data.messages["new"]).raw_click_id == scanner.pk
    assert figures(daily(owner), dt.date.fromisoformat(new_day)) == figures(
        before, dt.date.fromisoformat(new_day)
    )
