"""The rollup build: incremental, idempotent, safe to run twice at once, corrected by late
changes whoever writes them (ORM, raw SQL batches), with days cut in the account's zone."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from core.models import Campaign, Message
from links.models import MessageShortLinkClick
from reporting import services as reporting_services
from reporting.models import BotReasonRollup, DailyRollup, DirtyHour, DirtyMessage, MessageRollup
from reporting.services import BUILD_LOCK, rollups_build
from reporting.tasks import rollups_build_task
from tests.helpers import wait_for
from tests.reporting.dataset import at, click, dataset_build
from tests.reporting.reference import expected

DAILY_FIELDS = ("account_id", "day", "campaign_id", "creative_id", "sending_list_id", "offer_id",
                "sends", "offer_sends", "raw_clicks", "bot_clicks", "unique_clicks", "conversions",
                "revenue", "view_through_conversions", "view_through_revenue")  # fmt: skip
MESSAGE_FIELDS = ("message_id", "offer_id", "is_first_offer", "account_id", "day", "sent_at",
                  "campaign_id", "creative_id", "sending_list_id", "contact_id", "external_id",
                  "raw_clicks", "bot_clicks", "unique_clicks", "conversions",
                  "revenue", "view_through_conversions", "view_through_revenue")  # fmt: skip
BOT_REASON_FIELDS = ("account_id", "day", "bot_reason", "clicks")


def snapshot() -> tuple[list[tuple], list[tuple], list[tuple]]:
    return (
        sorted(DailyRollup.objects.values_list(*DAILY_FIELDS), key=repr),
        sorted(MessageRollup.objects.values_list(*MESSAGE_FIELDS), key=repr),
        sorted(BotReasonRollup.objects.values_list(*BOT_REASON_FIELDS), key=repr),
    )


def days_report(account: Any) -> dict[str, dict[str, Any]]:
    body = account.get("/api/v1/reports/days").json()
    return {r["key"]: r for r in body["results"]}


@pytest.mark.django_db
def test_building_twice_changes_nothing_and_equals_a_full_rebuild(owner: Any) -> None:
    dataset_build(owner)
    first = rollups_build()
    # Messages twice over: as minted, then again for the account's time zone change.
    assert first.days == 4 and first.messages >= 5
    built = snapshot()
    assert rollups_build().days == 0  # nothing marked since
    assert snapshot() == built
    out = io.StringIO()
    call_command("build_rollups", "--full", stdout=out)
    assert json.loads(out.getvalue())["days"] == 4
    assert snapshot() == built
    assert not DirtyHour.objects.exists() and not DirtyMessage.objects.exists()


@pytest.mark.django_db
def test_a_step_with_nothing_left_to_show_does_not_end_the_build(owner: Any) -> None:
    dataset_build(owner)
    rollups_build()
    built = snapshot()
    DailyRollup.objects.filter(day=dt.date(2026, 1, 12)).delete()  # stale, as if never built
    DirtyHour.objects.create(account_id=10**12, hour=at("2026-01-12 21:00"))  # a gone account
    DirtyHour.objects.create(account_id=owner.account.pk, hour=at("2026-01-12 21:00"))
    rollups_build()
    assert not DirtyHour.objects.exists()
    assert snapshot() == built


@pytest.mark.django_db
def test_a_new_click_shows_once_the_beat_task_has_run(owner: Any) -> None:
    data = dataset_build(owner)
    rollups_build_task.delay()
    before = days_report(owner)["2026-01-12"]
    click(data.link("m5"), at("2026-01-12 21:00"))
    assert days_report(owner)["2026-01-12"]["unique_clicks"] == before["unique_clicks"]
    assert rollups_build_task.delay().get() == 2  # the day and the message rebuilt
    after = days_report(owner)["2026-01-12"]
    assert (after["raw_clicks"], after["unique_clicks"]) == (1, before["unique_clicks"] + 1)


@pytest.mark.django_db
def test_clicks_written_by_raw_sql_batches_are_counted(owner: Any) -> None:
    # The shape of the ingestion consumer's writes: no ORM, no Python hook.
    data = dataset_build(owner)
    rollups_build()
    link = data.link("m5")
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO links_messageshortlinkclick
                (click_id, account_id, short_link_id, message_id, contact_id, clicked_at, ip,
                 user_agent, referer, accept_language, method, is_bot, bot_reason)
            SELECT c, %s, %s, %s, %s, t, NULL, '', '', '', 'GET', b, ''
            FROM unnest(%s::text[], %s::timestamptz[], %s::boolean[]) AS x(c, t, b)
            ON CONFLICT (click_id, clicked_at) DO NOTHING
            """,
            [owner.account.pk, link.pk, link.message_id, link.contact_id,
             ["RAWSQL000000001", "RAWSQL000000002"],
             [at("2026-01-12 21:00"), at("2026-01-13 06:00")], [True, False]],
        )  # fmt: skip
        cursor.execute(
            """
            INSERT INTO links_messageclick
                (account_id, contact_id, message_id, short_link_id, raw_click_id, offer_id,
                 clicked_at, click_id)
            SELECT account_id, contact_id, message_id, short_link_id, id, %s, clicked_at,
                   click_id
            FROM links_messageshortlinkclick WHERE click_id = 'RAWSQL000000002'
            ON CONFLICT (contact_id, message_id) DO NOTHING
            """,
            [link.offer_id],
        )
    rollups_build()
    days = days_report(owner)
    assert (days["2026-01-12"]["raw_clicks"], days["2026-01-12"]["bot_clicks"]) == (1, 1)
    assert days["2026-01-13"]["unique_clicks"] == 1  # 01:00 local on the 13th
    rows, _ = expected(owner.account, "messages", {})
    message = owner.get("/api/v1/reports/messages", order="-raw_clicks").json()["results"]
    by_key = {r["key"]: r for r in message}
    assert by_key[link.message_id]["raw_clicks"] == rows[link.message_id]["raw_clicks"] == 2


@pytest.mark.django_db
def test_judging_a_click_without_changing_it_marks_nothing(owner: Any) -> None:
    data = dataset_build(owner)
    rollups_build()
    MessageShortLinkClick.objects.filter(pk=data.clicks["m4"].pk).update(judged_at=at("2026-01-12"))
    assert not DirtyHour.objects.exists() and not DirtyMessage.objects.exists()
    MessageShortLinkClick.objects.filter(pk=data.clicks["m4"].pk).update(is_bot=True)
    assert DirtyHour.objects.filter(account_id=owner.account.pk, hour=at("2026-01-11 14:00"))
    assert DirtyMessage.marked() == {data.messages["m4"].pk}


@pytest.mark.django_db
def test_a_new_bot_reason_alone_marks_its_hour(owner: Any) -> None:
    data = dataset_build(owner)
    rollups_build()
    bot = data.clicks["m2-bot"]
    MessageShortLinkClick.objects.filter(pk=bot.pk).update(bot_reason="behaviour:ip-fanout")
    assert list(DirtyHour.objects.values_list("account_id", "hour")) == [
        (owner.account.pk, at("2026-01-10 15:00"))
    ]
    assert not DirtyMessage.objects.exists()  # no figure of the message changed
    rollups_build()
    assert BotReasonRollup.objects.get(bot_reason="behaviour:ip-fanout").clicks == 1


@pytest.mark.django_db
def test_days_are_cut_at_local_midnight_even_inside_a_half_hour_offset(owner: Any) -> None:
    owner.account.time_zone = "Asia/Kolkata"  # UTC+05:30: 18:30Z is midnight
    owner.account.save(update_fields=["time_zone"])
    message = owner.mint(body="https://a.example/", sent_at=at("2026-03-01 18:00").isoformat())
    link = Message.objects.get(pk=message["id"]).links.get()
    click(link, at("2026-03-01 18:10"))  # 23:40 on the 1st
    rollups_build()
    assert set(days_report(owner)) == {"2026-03-01"}
    # The same UTC hour, after local midnight: the rebuild must reach the 2nd as well.
    click(link, at("2026-03-01 18:40"))  # 00:10 on the 2nd
    rollups_build()
    days = days_report(owner)
    assert (days["2026-03-01"]["raw_clicks"], days["2026-03-02"]["raw_clicks"]) == (1, 1)
    assert (days["2026-03-01"]["sends"], days["2026-03-02"]["sends"]) == (1, 0)
    march_2 = owner.get("/api/v1/reports/days", start="2026-03-02", end="2026-03-02").json()
    assert march_2["totals"]["raw_clicks"] == 1 and march_2["totals"]["sends"] == 0


@pytest.mark.django_db
def test_a_time_zone_change_recuts_every_day(owner: Any) -> None:
    dataset_build(owner)
    rollups_build()
    assert "2026-01-09" in days_report(owner)
    owner.account.time_zone = "UTC"
    owner.account.save(update_fields=["time_zone"])
    rollups_build()
    want, _ = expected(owner.account, "days", {})
    assert set(days_report(owner)) == set(want) == {"2026-01-10", "2026-01-11", "2026-01-12"}
    messages, _ = expected(owner.account, "messages", {"start": dt.date(2026, 1, 10)})
    assert owner.get("/api/v1/reports/messages", start="2026-01-10").json()["count"] == len(
        messages
    )


@pytest.mark.django_db
def test_a_deleted_campaign_leaves_its_figures_under_no_campaign(owner: Any) -> None:
    data = dataset_build(owner)
    rollups_build()
    Campaign.objects.filter(pk=data.messages["m3"].campaign_id).delete()
    rollups_build()
    rows = {r["label"]: r for r in owner.get("/api/v1/reports/campaigns").json()["results"]}
    assert set(rows) == {"Spring", "No campaign"}
    assert rows["No campaign"]["sends"] == 3  # m3, m5 (Summer, now gone) and m4


@pytest.mark.django_db
def test_a_deleted_message_leaves_the_reports(owner: Any) -> None:
    data = dataset_build(owner)
    rollups_build()
    data.messages["m4"].delete()
    rollups_build()
    assert not MessageRollup.objects.filter(message_id=data.messages["m4"].pk).exists()
    want, totals = expected(owner.account, "campaigns", {})
    assert owner.get("/api/v1/reports/campaigns").json()["totals"] == totals
    assert totals["sends"] == 4


@pytest.mark.django_db(transaction=True)
def test_two_builds_at_once_while_clicks_arrive_end_as_one_full_build(owner: Any) -> None:
    data = dataset_build(owner)
    rollups_build()
    links = [data.link(m) for m in ("m1", "m2", "m3", "m4", "m5")]
    writing = threading.Event()
    writing.set()
    errors: list[BaseException] = []

    def in_thread(work: Any) -> Any:
        def run() -> None:
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - reported by the assert below
                errors.append(exc)
            finally:
                connection.close()

        return threading.Thread(target=run)

    def write_clicks() -> None:
        for n in range(40):
            click(links[n % 5], at("2026-01-10 03:00") + dt.timedelta(hours=n * 3), bot=n % 4 == 0)
        writing.clear()

    def build_until_written() -> None:
        while writing.is_set():
            rollups_build()

    threads = [
        in_thread(write_clicks),
        in_thread(build_until_written),
        in_thread(build_until_written),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    rollups_build()
    incremental = snapshot()
    rollups_build(everything=True)
    assert snapshot() == incremental
    want, totals = expected(owner.account, "days", {})
    body = owner.get("/api/v1/reports/days", page_size=1000).json()
    assert totals["raw_clicks"] == 49 and body["totals"] == totals
    assert {r["key"]: {f: r[f] for f in want[r["key"]]} for r in body["results"]} == want


@pytest.mark.django_db(transaction=True)
def test_a_second_build_waits_for_the_first(owner: Any) -> None:
    data = dataset_build(owner)
    rollups_build()
    click(data.link("m5"), at("2026-01-12 21:00"))
    holding, release = threading.Event(), threading.Event()

    def first_build() -> None:
        # Stands in for a slow build: holds the build lock until told to let go.
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [BUILD_LOCK])
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    def second_build() -> None:
        try:
            rollups_build()
        finally:
            connection.close()

    holder = threading.Thread(target=first_build)
    holder.start()
    assert holding.wait(10)
    waiter = threading.Thread(target=second_build)
    waiter.start()
    # Blocked on the lock: PostgreSQL shows its advisory lock waiting, not granted.
    wait_for(lambda: _advisory_waiters() == 1, 10, "the second build to wait for the lock")
    assert waiter.is_alive()
    assert days_report(owner)["2026-01-12"]["raw_clicks"] == 0
    release.set()
    holder.join(10)
    waiter.join(10)
    assert not waiter.is_alive()
    assert days_report(owner)["2026-01-12"]["raw_clicks"] == 1


def _advisory_waiters() -> int:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_statement_on_many_messages_writes_one_marker_naming_them_all(owner: Any) -> None:
    data = dataset_build(owner)
    rollups_build()
    names = ("m1", "m2", "m3", "m4")
    MessageShortLinkClick.objects.filter(message__in=[data.messages[n] for n in names]).update(
        is_bot=True
    )
    assert DirtyMessage.objects.count() == 1
    assert DirtyMessage.marked() == {data.messages[n].pk for n in names}


@pytest.mark.django_db
def test_markers_naming_more_than_a_batch_are_rebuilt_a_batch_at_a_time(
    owner: Any, monkeypatch: Any
) -> None:
    dataset_build(owner)
    rollups_build()
    built = snapshot()
    MessageRollup.objects.all().delete()  # stale, as if never built
    every = set(Message.objects.filter(account=owner.account).values_list("pk", flat=True))
    assert len(every) == 5
    DirtyMessage.objects.create(message_ids=sorted(every)[:3])
    DirtyMessage.objects.create(message_ids=sorted(every)[2:])  # one named twice
    monkeypatch.setattr("reporting.services.MESSAGE_BATCH", 2)
    monkeypatch.setattr("reporting.services.CLAIM_PAGE", 1)
    steps: list[int] = []
    monkeypatch.setattr(
        "reporting.services._messages_rebuild",
        _recording(steps, reporting_services._messages_rebuild),
    )
    rollups_build()
    assert steps and max(steps) == 2  # never more than a batch a step
    assert not DirtyMessage.objects.exists()
    assert snapshot() == built


def _recording(steps: list[int], rebuild: Any) -> Any:
    def recorded(message_ids: list[int], kept: Any) -> int:
        steps.append(len(message_ids))
        return rebuild(message_ids, kept)

    return recorded
