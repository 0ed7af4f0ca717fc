"""`manage.py fill_scale_data` at a tiny size: the rows it COPYs obey every rule the product
keeps (first clicks, attribution, constraints, sequences), and its JSON names logins that
work."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from attribution.models import Conversion, FraudFlag, PostbackLog
from attribution.rules import attribution_find
from core import partitions
from core.models import Account, Contact, Membership, Message
from devdata.scale.fill import LOADED_TABLES
from links import ids
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick

ROOT = Path(__file__).resolve().parents[2]
SIZE = {"messages": 600, "clicks": 4000, "conversions": 300}
CENT = Decimal("0.01")


def schema(tables: tuple[str, ...]) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = ANY(%s::regclass[])",
            [list(tables)],
        )
        constraints = set(cursor.fetchall())
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s)", [list(tables)]
        )
        return constraints | set(cursor.fetchall())


def fill(**options: Any) -> dict[str, Any]:
    out = io.StringIO()
    call_command("fill_scale_data", *[f"--{k}={v}" for k, v in options.items()], stdout=out,
                 verbosity=0)  # fmt: skip
    return json.loads(out.getvalue())


@pytest.fixture(scope="module")
def loaded(django_db_setup: Any, django_db_blocker: Any) -> Any:
    """One load for the whole module (it takes seconds), rolled back at the end; each test
    runs in a savepoint inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        before = schema(LOADED_TABLES)
        yield before, fill(**SIZE, seed=7)
        transaction.set_rollback(True)


@pytest.fixture
def filled(loaded: Any, db: Any) -> dict[str, Any]:
    return loaded[1]


@pytest.fixture
def before(loaded: Any, db: Any) -> set[tuple[str, str]]:
    return loaded[0]


def test_it_makes_the_sizes_asked_for(filled: dict[str, Any]) -> None:
    accounts = [a["account_id"] for a in filled["accounts"]]
    assert len(accounts) == 3
    assert (
        Message.objects.filter(account__in=accounts).count()
        == SIZE["messages"]
        == (filled["counts"]["messages"])
    )
    raw = MessageShortLinkClick.objects.filter(account__in=accounts)
    assert raw.count() == SIZE["clicks"] == filled["counts"]["raw_clicks"]
    assert raw.filter(is_bot=True).count() == filled["counts"]["bot_clicks"]
    assert 0.15 <= filled["counts"]["bot_clicks"] / SIZE["clicks"] <= 0.3
    assert Conversion.objects.filter(account__in=accounts).count() == SIZE["conversions"]
    assert (
        MessageClick.objects.filter(account__in=accounts).count()
        == (filled["counts"]["message_clicks"])
    )
    assert Contact.objects.filter(account__in=accounts).count() == filled["counts"]["contacts"]
    for kind in ("direct", "click_through", "view_through", "offer", "none"):
        assert filled["counts"][f"conversions_{kind}"] > 0, kind


def test_every_message_click_is_the_earliest_non_bot_click_of_its_message(
    filled: dict[str, Any],
) -> None:
    with connection.cursor() as cursor:
        # Counted (contact, message) pairs == pairs with a person's click, one each.
        cursor.execute(
            "SELECT count(DISTINCT (contact_id, message_id)) FROM links_messageshortlinkclick "
            "WHERE NOT is_bot"
        )
        assert cursor.fetchone()[0] == MessageClick.objects.count() > 100
        cursor.execute(
            """
            SELECT count(*) FROM links_messageclick AS mc
            JOIN links_messageshortlinkclick AS c ON c.id = mc.raw_click_id
            JOIN links_messageshortlink AS l ON l.id = c.short_link_id
            WHERE c.is_bot OR c.clicked_at <> mc.clicked_at OR c.short_link_id <> mc.short_link_id
               OR c.message_id <> mc.message_id OR c.contact_id <> mc.contact_id
               OR c.account_id <> mc.account_id OR l.offer_id IS DISTINCT FROM mc.offer_id
               OR EXISTS (
                   SELECT 1 FROM links_messageshortlinkclick AS e
                   WHERE e.message_id = mc.message_id AND e.contact_id = mc.contact_id
                     AND NOT e.is_bot AND (e.clicked_at, e.id) < (c.clicked_at, c.id))
            """
        )
        assert cursor.fetchone()[0] == 0


def test_raw_clicks_belong_to_their_message_and_come_after_it(filled: dict[str, Any]) -> None:
    end = dt.datetime.fromisoformat(filled["period"]["end"])
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM links_messageshortlinkclick AS c
            JOIN links_messageshortlink AS l ON l.id = c.short_link_id
            JOIN trackly_message AS m ON m.id = c.message_id
            WHERE l.message_id <> c.message_id OR m.contact_id <> c.contact_id
               OR m.account_id <> c.account_id OR l.contact_id <> c.contact_id
               OR c.clicked_at < m.sent_at OR c.clicked_at > %s OR c.judged_at IS NULL
               OR (c.is_bot AND c.bot_reason = '') OR (NOT c.is_bot AND c.bot_reason <> '')
            """,
            [end],
        )
        assert cursor.fetchone()[0] == 0
    # Scanners that look human are caught by timing: inside the list's scanner window.
    for click in MessageShortLinkClick.objects.filter(
        bot_reason="behaviour:delivery-scan"
    ).select_related("message__sending_list")[:200]:
        window = dt.timedelta(seconds=click.message.sending_list.scanner_window_seconds)
        assert click.clicked_at - click.message.sent_at <= window
    # People never click inside it (the behaviour worker would call them scanners).
    for click in MessageShortLinkClick.objects.filter(is_bot=False).select_related("message")[:500]:
        assert click.clicked_at - click.message.sent_at > dt.timedelta(seconds=3)


def test_conversions_are_credited_as_the_attribution_rule_credits_them(
    filled: dict[str, Any],
) -> None:
    checked = 0
    for conversion in Conversion.objects.select_related(
        "offer", "account", "message_click", "reported_link"
    ):
        assert conversion.status == Conversion.Status.ACCEPTED
        if conversion.contact_id is None:
            assert conversion.attribution_type == Conversion.AttributionType.OFFER
            assert conversion.message_id is None and conversion.message_click_id is None
            continue
        window = conversion.offer.click_window_days or conversion.account.default_click_window_days
        expected = attribution_find(
            account_id=conversion.account_id,
            contact_id=conversion.contact_id,
            offer_id=conversion.offer_id,
            occurred_at=conversion.occurred_at,
            message_id=conversion.reported_link.message_id if conversion.reported_link else None,
        )
        assert conversion.attribution_type == expected.type
        assert conversion.message_click_id == (
            expected.message_click.pk if expected.message_click else None
        )
        assert conversion.raw_click_id == expected.raw_click_id
        assert conversion.message_id == expected.message_id
        assert conversion.campaign_id == expected.campaign_id
        assert conversion.creative_id == expected.creative_id
        assert conversion.unattributed_reason == expected.reason
        credited = conversion.message_click
        if credited is not None:
            assert credited.contact_id == conversion.contact_id
            assert credited.offer_id == conversion.offer_id
            span = conversion.occurred_at - credited.clicked_at
            assert dt.timedelta(0) <= span <= dt.timedelta(days=window)
        checked += 1
    assert checked > 200


def test_every_conversion_has_its_postback_logged(filled: dict[str, Any]) -> None:
    conversions = Conversion.objects.select_related("postback_log")
    for conversion in conversions:
        log = conversion.postback_log
        assert log.account_id == conversion.account_id
        assert log.outcome == PostbackLog.Outcome.ACCEPTED
        assert f"txn_id={conversion.txn_id}&" in log.query
        assert ("token=[redacted]&" if log.endpoint == "conv" else "secret=[redacted]&") in (
            log.query
        )
        if conversion.reported_click_id:
            assert MessageShortLinkClick.objects.filter(
                click_id=conversion.reported_click_id, contact_id=conversion.contact_id
            ).exists()
    assert all(
        isinstance(c.revenue, Decimal) and c.revenue > 0 and c.revenue == c.revenue.quantize(CENT)
        for c in conversions
    )
    assert PostbackLog.objects.count() >= conversions.count()
    for flag in FraudFlag.objects.filter(kind=FraudFlag.Kind.CLICK_INJECTION):
        assert flag.conversion.occurred_at - flag.conversion.message_click.clicked_at < (
            dt.timedelta(seconds=10)
        )


def test_links_ids_are_the_products_and_sequences_continue_after_the_load(
    filled: dict[str, Any], before: set[tuple[str, str]]
) -> None:
    link_ids = list(MessageShortLink.objects.values_list("link_id", flat=True))
    assert all(ids.is_link_id(link_id) for link_id in link_ids)
    assert all(
        ids.is_click_id(c) for c in MessageShortLinkClick.objects.values_list("click_id", flat=True)
    )
    # Every index and constraint dropped for the load is back, exactly as it was.
    assert schema(LOADED_TABLES) == before
    with connection.cursor() as cursor:
        for table in LOADED_TABLES:
            cursor.execute(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) > max(id) FROM {table}"
            )
            assert cursor.fetchone()[0] is True, table


def test_a_second_load_adds_alongside_the_first(filled: dict[str, Any]) -> None:
    again = fill(messages=90, clicks=300, conversions=20, accounts=1, seed=7)
    assert again["accounts"][0]["account_id"] not in {a["account_id"] for a in filled["accounts"]}
    assert Message.objects.count() == SIZE["messages"] + 90
    assert MessageShortLinkClick.objects.count() == SIZE["clicks"] + 300
    assert again["accounts"][0]["tracking_domain"] != filled["accounts"][0]["tracking_domain"]


def test_every_partition_has_its_tables_indexes_again(filled: dict[str, Any]) -> None:
    # The load drops the secondary indexes and makes them again: on a partitioned table
    # each must be valid and on every partition, not the parent's alone.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid"
            " WHERE x.indrelid = ANY(%s::regclass[]) AND NOT x.indisvalid",
            [list(LOADED_TABLES)],
        )
        assert cursor.fetchall() == []
        table = MessageShortLinkClick._meta.db_table
        cursor.execute("SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass", [table])
        wanted = cursor.fetchone()[0]
        assert wanted >= 8
        for partition in partitions.partitions(table):
            cursor.execute(
                "SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass", [partition.name]
            )
            assert cursor.fetchone()[0] == wanted, partition.name


def test_a_long_period_lands_in_month_partitions_not_the_legacy_one(db: Any) -> None:
    # 30 weeks reach past the legacy partition's bound on a fresh database (three months
    # back): that empty partition shrinks and the months are made, as the maintenance task
    # would have made them for an account partitioned all along.
    fill(messages=60, clicks=400, conversions=10, accounts=1, weeks=30, seed=3)
    table = MessageShortLinkClick._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT tableoid::regclass::text, clicked_at FROM {table}"  # noqa: S608
            " ORDER BY clicked_at LIMIT 1"
        )
        holder, oldest = cursor.fetchone()
        cursor.execute(f"SELECT count(*) FROM {table}_legacy")  # noqa: S608
        assert cursor.fetchone()[0] == 0
        cursor.execute(f"SELECT count(*) FROM {table}_default")  # noqa: S608
        assert cursor.fetchone()[0] == 0
    assert oldest < timezone.now() - dt.timedelta(weeks=20)
    assert holder == partitions.month_name(table, partitions.month_start(oldest))
    log = PostbackLog._meta.db_table
    assert partitions.month_name(log, partitions.month_start(oldest)) in {
        p.name for p in partitions.partitions(log)
    }


def test_its_json_names_a_working_login_api_key_and_postback_token_per_account(
    filled: dict[str, Any],
) -> None:
    assert {"elapsed_seconds", "seed", "period", "counts", "timings", "accounts"} <= set(filled)
    for entry in filled["accounts"]:
        account = Account.objects.get(pk=entry["account_id"])
        assert account.name == entry["name"]
        user = authenticate(username=entry["username"], password=entry["password"])
        assert user is not None
        assert Membership.objects.filter(user=user, account=account).exists()
        client = APIClient(HTTP_HOST="localhost")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {entry['api_key']}")
        response = client.get("/api/v1/lists")
        assert response.status_code == 200
        names = {row["name"] for row in response.json()["results"]}
        assert names == {"Newsletter", "VIP", "Winback", "New Subscribers"}
        assert entry["messages"] == Message.objects.filter(account=account).count()
        # The network's credential, as create_account makes it: required, stored hashed.
        assert account.require_postback_token
        assert account.postback_token_matches(entry["postback_token"])


def test_it_names_a_bad_size(db: Any) -> None:
    messages = Message.objects.count()
    with pytest.raises(CommandError, match="--bot-share"):
        call_command("fill_scale_data", "--bot-share=1.5", stdout=io.StringIO())
    assert Message.objects.count() == messages


def test_it_refuses_sqlite_with_a_clear_message(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "fill_scale_data", "--messages=10"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert "PostgreSQL" in done.stderr and "sqlite" in done.stderr
    assert done.stdout == ""
