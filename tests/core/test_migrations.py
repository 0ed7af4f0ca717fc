"""The core models moved to the core app (core 0001, links 0005-0006, attribution 0005,
reporting 0005, trackly 0005): a database made before keeps every row, every link between
them, the raw SQL that names their tables, and its staff users' permissions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from attribution.models import Conversion
from core.models import Account, ApiKey, Membership, Message, Offer, TrackingDomain
from links.click_stream import ClickEvent
from links.click_writer import clicks_write
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick
from reporting.models import DirtyMessage

# The last migrations before the core app.
BEFORE = [
    ("core", None),
    ("trackly", "0004_hardening"),
    ("links", "0004_click_recorded_at"),
    ("attribution", "0004_revenue_reported"),
    ("reporting", "0004_bot_reason_rollup"),
]


def rows_made_before(apps: Any) -> dict[str, Any]:
    """One of everything, through the models as they were (trackly.*, links.*)."""
    model = apps.get_model
    now = timezone.now()
    user = model("auth", "User").objects.create(username="staff-before", is_staff=True)
    account = model("trackly", "Account").objects.create(name="Before Co")
    model("trackly", "Membership").objects.create(user=user, account=account, role="admin")
    model("trackly", "ApiKey").objects.create(
        account=account, name="old", prefix="0ld0ld00", key_hash="x" * 64
    )
    template = model("links", "InterstitialTemplate").objects.create(
        account=account, name="T", title="Wait"
    )
    domain = model("links", "TrackingDomain").objects.create(
        account=account, host="go.before.example", is_primary=True
    )
    contact = model("trackly", "Contact").objects.create(account=account, external_id="c1")
    sending_list = model("trackly", "SendingList").objects.create(
        account=account, name="L", default_interstitial=template
    )
    campaign = model("trackly", "Campaign").objects.create(account=account, name="C")
    creative = model("trackly", "Creative").objects.create(
        account=account, name="K", campaign=campaign
    )
    offer = model("trackly", "Offer").objects.create(
        account=account,
        name="O",
        destination_url="https://adv.before.example/",
        interstitial_mode="custom",
        interstitial_template=template,
        postback_secret_hash="y" * 64,
    )
    message = model("trackly", "Message").objects.create(
        account=account,
        contact=contact,
        sending_list=sending_list,
        campaign=campaign,
        creative=creative,
        body="Hi {{link1}}",
        rewritten_body="Hi https://go.before.example/Bef0re1",
    )
    link = model("links", "MessageShortLink").objects.create(
        link_id="Bef0re1",
        account=account,
        message=message,
        contact=contact,
        offer=offer,
        name="link1",
        destination_url="https://adv.before.example/",
    )
    raw = model("links", "MessageShortLinkClick").objects.create(
        click_id="b" * 16, account=account, link=link, message=message, contact=contact
    )
    counted = model("links", "MessageClick").objects.create(
        account=account,
        contact=contact,
        message=message,
        link=link,
        click=raw,
        offer=offer,
        clicked_at=raw.clicked_at,
    )
    conversion = model("attribution", "Conversion").objects.create(
        account=account,
        offer=offer,
        contact=contact,
        message=message,
        message_click=counted,
        click=raw,
        revenue=Decimal("12.5000"),
        currency="USD",
        occurred_at=now,
    )
    # A staff user's permission on a moved model: its content type must come along.
    content_type = model("contenttypes", "ContentType").objects.get(
        app_label="trackly", model="offer"
    )
    user.user_permissions.add(
        model("auth", "Permission").objects.get(content_type=content_type, codename="change_offer")
    )
    return {
        "user": user.pk,
        "account": account.pk,
        "domain": domain.pk,
        "offer": offer.pk,
        "message": message.pk,
        "link": link.pk,
        "conversion": conversion.pk,
        "content_type": content_type.pk,
    }


def migrate(targets: list[tuple[str, str | None]] | None = None) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


@pytest.mark.django_db(transaction=True)
def test_a_database_made_before_the_core_app_keeps_its_rows_and_their_links() -> None:
    executor = migrate(BEFORE)
    # The state then, with Django's own apps as they are (users, permissions, content types).
    django_apps = [("auth", "0012_alter_user_first_name_max_length")]
    django_apps.append(("contenttypes", "0002_remove_content_type_name"))
    old = executor.loader.project_state([n for n in BEFORE if n[1]] + django_apps).apps
    made = rows_made_before(old)

    migrate()  # forward through the move, to the latest migrations

    account = Account.objects.get(pk=made["account"])
    assert account.name == "Before Co"
    assert ApiKey.objects.get(prefix="0ld0ld00").account == account
    assert Membership.objects.get(account=account).user_id == made["user"]
    domain = TrackingDomain.objects.get(pk=made["domain"])
    assert (domain.account, domain.host) == (account, "go.before.example")
    offer = Offer.objects.get(pk=made["offer"])
    assert offer.interstitial_template.title == "Wait"
    message = Message.objects.get(pk=made["message"])
    assert message.sending_list.default_interstitial == offer.interstitial_template
    assert (message.creative.campaign, message.contact.external_id) == (message.campaign, "c1")
    link = MessageShortLink.objects.get(pk=made["link"])
    assert (link.message, link.offer) == (message, offer)
    counted = MessageClick.objects.get(message=message)
    # The foreign keys renamed since (links 0007, attribution 0006) kept their values.
    assert counted.raw_click.click_id == "b" * 16 and counted.short_link == link
    assert counted.raw_click.short_link == link
    conversion = Conversion.objects.get(pk=made["conversion"])
    assert (conversion.message_click, conversion.offer) == (counted, offer)
    assert conversion.raw_click == counted.raw_click
    assert conversion.revenue == Decimal("12.5000")

    # The staff user's permission followed its content type, which kept its id.
    user = get_user_model().objects.get(pk=made["user"])
    assert user.has_perm("core.change_offer")
    assert user.user_permissions.get().content_type_id == made["content_type"]

    # Raw SQL naming the tables (the click consumer's) works on the rows made before.
    later = timezone.now() + dt.timedelta(seconds=1)
    event = ClickEvent(
        click_id="a" * 16, link_id="Bef0re1", account_id=account.pk, clicked_at=later,
        ip="203.0.113.9", user_agent="Mozilla/5.0 (iPhone) Safari", referer="",
        accept_language="", method="GET",
    )  # fmt: skip
    assert clicks_write([event]) == (1, 0)  # stored; the earlier counted click stays
    assert MessageShortLinkClick.objects.filter(message=message).count() == 2
    # The raw clicks' trigger names the renamed column (reporting 0006): a verdict change
    # on a click made before marks its message's rollups stale.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM reporting_dirtymessage")
        MessageShortLinkClick.objects.filter(click_id="b" * 16).update(is_bot=True)
        assert DirtyMessage.marked() == {message.pk}


@pytest.mark.django_db(transaction=True)
def test_the_move_runs_no_sql_on_the_database() -> None:
    """State only: each migration of the move is empty as SQL, both ways."""
    executor = MigrationExecutor(connection)
    moves = [
        ("core", "0001_initial"),
        ("links", "0005_core_models"),
        ("attribution", "0005_core_models"),
        ("reporting", "0005_core_models"),
        ("trackly", "0005_core_models"),
        ("links", "0006_core_models"),
    ]
    for app_label, name in moves:
        migration = executor.loader.get_migration(app_label, name)
        for backwards in (False, True):
            sql = executor.loader.collect_sql([(migration, backwards)])
            # Only comments: the content types' relabelling is Python (RunPython).
            assert [s for s in sql if not s.startswith("--")] == [], (app_label, name)


@pytest.mark.django_db
def test_the_models_need_no_migration_that_is_not_written() -> None:
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
