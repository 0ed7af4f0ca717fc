"""References into raw clicks are columns without a database foreign key (links 0011,
attribution 0009): with every raw click deleted by SQL, as retention will, the counted
clicks, conversions and fraud flags stay, and the conversions API, conversion events and
the report figures read as before."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F

from attribution.conversion_events import RELATED, conversion_data
from attribution.models import Conversion, FraudFlag
from core.models import Account
from links.click_events import click_events_reconcile
from links.models import MessageClick, MessageClickAnnouncement, MessageShortLinkClick
from reporting.reports import DIMENSIONS
from tests.reporting.dataset import dataset_build
from tests.reporting.test_reports import fetch_all


def conversions_seen(account: Any) -> list[dict[str, Any]]:
    out = []
    for pk in Conversion.objects.filter(account=account.account).values_list("pk", flat=True):
        response = account.get(f"/api/v1/conversions/{pk}")
        assert response.status_code == 200, response.content
        out.append(response.json())
    return sorted(out, key=lambda c: c["id"])


def reports_seen(account: Any) -> dict[str, Any]:
    return {d: fetch_all(account, d) for d in DIMENSIONS if d != "variants"}


def events_seen() -> list[dict[str, Any]]:
    return [conversion_data(c) for c in Conversion.objects.select_related(*RELATED).order_by("pk")]


def flag_clicks(account: Account) -> None:
    for click in MessageShortLinkClick.objects.filter(account=account):
        FraudFlag.objects.create(
            account=account, kind=FraudFlag.Kind.CLICK_FLOOD, key=f"k{click.pk}",
            ip=click.ip, raw_click=click,
        )  # fmt: skip


@pytest.mark.django_db
def test_counted_clicks_conversions_and_flags_outlive_their_raw_clicks(owner: Any) -> None:
    dataset_build(owner)
    call_command("build_rollups", stdout=io.StringIO())
    flag_clicks(owner.account)
    counted = list(MessageClick.objects.order_by("pk").values())
    assert counted and all(c["click_id"] for c in counted)  # each keeps its click's id
    conversions = list(Conversion.objects.order_by("pk").values())
    flags = list(FraudFlag.objects.order_by("pk").values())
    assert any(c["raw_click_id"] for c in conversions) and flags
    # The counted clicks judged and told of (message.clicked), as the judge does.
    MessageShortLinkClick.objects.update(judged_at=F("clicked_at"))
    pairs = list(MessageClick.objects.values_list("contact_id", "message_id"))
    assert click_events_reconcile(pairs) == len(pairs)
    told = list(MessageClickAnnouncement.objects.order_by("pk").values())
    assert all(t["click_id"] for t in told)
    api, reports, events = conversions_seen(owner), reports_seen(owner), events_seen()
    assert any(c["click_id"] for c in api)

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM links_messageshortlinkclick")
    assert not MessageShortLinkClick.objects.exists()

    assert list(MessageClick.objects.order_by("pk").values()) == counted
    assert list(Conversion.objects.order_by("pk").values()) == conversions
    assert list(FraudFlag.objects.order_by("pk").values()) == flags
    assert conversions_seen(owner) == api
    assert events_seen() == events
    assert reports_seen(owner) == reports
    # What was told of the counted clicks stands: a pruned click is no revocation.
    assert click_events_reconcile(pairs) == 0
    assert list(MessageClickAnnouncement.objects.order_by("pk").values()) == told


@pytest.mark.django_db
def test_deleting_an_account_still_takes_what_referenced_its_raw_clicks(
    owner: Any, make_account: Any
) -> None:
    outsider = make_account()
    for account in (owner, outsider):
        dataset_build(account)
        flag_clicks(account.account)
    gone = owner.account.pk
    owner.account.delete()
    for model in (MessageShortLinkClick, MessageClick, Conversion, FraudFlag):
        assert not model.objects.filter(account_id=gone).exists(), model
        assert model.objects.filter(account=outsider.account).exists(), model
