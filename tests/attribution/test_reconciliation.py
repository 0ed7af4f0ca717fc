"""Reconciliation with the network (POST /api/v1/reconciliations): each bucket from a
TUNE-shaped and an Everflow-shaped file, the generic preset and map= overrides, the status
table, the disputes CSV, the restate (applied once), bad input, scopes and isolation."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from attribution.models import Conversion, ConversionAdjustment, ReconciliationRow
from attribution.postback_input import ConversionInput
from attribution.services import conversion_record
from core.models import ApiKey, Offer
from links.models import MessageShortLinkClick
from tests.helpers import clicked, make_offer

TUNE_HEADER = ["Transaction ID", "Partner Sub ID 1", "Payout", "Revenue", "Sale Amount",
               "Status", "Date / Time"]  # fmt: skip
EVERFLOW_HEADER = ["transaction_id", "sub1", "payout", "revenue", "sale_amount", "status",
                   "conversion_unix_timestamp"]  # fmt: skip
BUCKETS = ("matched", "amount_differs", "status_differs", "missing_in_trackly",
           "missing_at_network")  # fmt: skip


@dataclass
class World:
    """An offer, clicks on it, and Trackly's conversions of them (all 30 minutes ago)."""

    offer: Offer
    when: dt.datetime
    clicks: dict[str, str] = field(default_factory=dict)
    conversions: dict[str, Conversion] = field(default_factory=dict)


def convert(
    account: Any, click_id: str, txn_id: str, revenue: str, payout: str, when: dt.datetime,
    approval: str = "approved",
) -> Conversion:  # fmt: skip
    """A conversion reported for the click, as its postback would record it."""
    link = (
        MessageShortLinkClick.objects.select_related("short_link__offer")
        .get(click_id=click_id)
        .short_link
    )
    conversion, created = conversion_record(
        account=account.account,
        data=ConversionInput(
            event="conversion", revenue=Decimal(revenue), payout=Decimal(payout),
            currency="USD", txn_id=txn_id, occurred_at=when, approval=approval,
        ),
        log=None, contact_id=link.contact_id, offer=link.offer, reported_click_id=click_id,
        reported_link=link, message_id=link.message_id,
    )  # fmt: skip
    assert created
    return conversion


def world_build(account: Any) -> World:
    offer = make_offer(account, name="Spring", default_payout=Decimal("5.00"))
    world = World(offer, timezone.now() - dt.timedelta(minutes=30))
    for name in ("match", "amount", "status", "missing", "by_click", "extra"):
        world.clicks[name] = clicked(account, offer)[1]
    figures = {
        "match": ("T-match", "1040.00", "4.00"),
        "amount": ("T-amount", "50.00", "5.00"),
        "status": ("T-status", "30.00", "3.00"),
        "by_click": ("trackly-own-id", "20.00", "2.00"),
        "extra": ("T-extra", "15.00", "1.50"),
    }
    for name, (txn_id, revenue, payout) in figures.items():
        world.conversions[name] = convert(
            account, world.clicks[name], txn_id, revenue, payout, world.when
        )
    return world


def file_of(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def tune_file(world: World) -> str:
    at = world.when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    c = world.clicks
    # The network's own "Revenue" (9.99) is never compared: "Sale Amount" is.
    return file_of(TUNE_HEADER, [
        ["T-match", c["match"], "4.00", "9.99", "$1,040.00", "approved", at],
        ["T-amount", c["amount"], "$4.50", "9.99", "50.00", "Approved", at],
        ["T-status", c["status"], "3.00", "9.99", "30.00", "rejected", at],
        ["T-missing", c["missing"], "6.00", "9.99", "60.00", "approved", at],
        ["NET-7", c["by_click"], "2.00", "9.99", "20.00", "approved", at],
        ["T-odd", "", "1.00", "1.00", "1.00", "on the moon", at],
    ])  # fmt: skip


def everflow_file(world: World) -> str:
    at = str(int(world.when.timestamp()))
    c = world.clicks
    return file_of(EVERFLOW_HEADER, [
        ["T-match", c["match"], "4.00", "9.99", "1040.00", "approved", at],
        ["T-amount", c["amount"], "4.50", "9.99", "50.00", "approved", at],
        ["T-status", c["status"], "3.00", "9.99", "30.00", "invalid", at],
        ["T-missing", c["missing"], "6.00", "9.99", "60.00", "approved", at],
        ["NET-7", c["by_click"], "2.00", "9.99", "20.00", "approved", at],
        ["T-odd", "", "1.00", "1.00", "1.00", "on the moon", at],
    ])  # fmt: skip


def days(world: World, account: Any) -> dict[str, str]:
    local = world.when.astimezone(zoneinfo.ZoneInfo(account.account.time_zone)).date()
    return {"start": (local - dt.timedelta(days=1)).isoformat(),
            "end": (local + dt.timedelta(days=1)).isoformat()}  # fmt: skip


def upload(
    client: Any, body: str, params: dict[str, Any] | list[tuple[str, Any]],
    content_type: str = "text/csv",
) -> Any:  # fmt: skip
    query = urlencode(params, doseq=True)
    return client.post(f"/api/v1/reconciliations?{query}", data=body, content_type=content_type)


def reconcile(account: Any, world: World, preset: str, body: str, **extra: Any) -> dict[str, Any]:
    params = {"preset": preset, "offer": world.offer.pk, **days(world, account), **extra}
    response = upload(account.client, body, params)
    assert response.status_code == 201, response.content
    return response.json()


def txn_ids(result: dict[str, Any], bucket: str) -> set[str | None]:
    return {row["txn_id"] for row in result[bucket]["rows"]}


@pytest.mark.django_db
@pytest.mark.parametrize("preset,make_file", [("tune", tune_file), ("everflow", everflow_file)])
def test_each_network_row_falls_in_its_bucket(owner: Any, preset: str, make_file: Any) -> None:
    world = world_build(owner)
    result = reconcile(owner, world, preset, make_file(world))

    assert result["preset"] == preset and result["offers"] == [world.offer.pk]
    assert {b: result[b]["count"] for b in BUCKETS} == {
        "matched": 2, "amount_differs": 1, "status_differs": 1, "missing_in_trackly": 1,
        "missing_at_network": 1,
    }  # fmt: skip
    # NET-7 is matched through its click id to Trackly's conversion with another txn_id.
    assert txn_ids(result, "matched") == {"T-match", "NET-7"}
    by_click = next(r for r in result["matched"]["rows"] if r["txn_id"] == "NET-7")
    assert by_click["conversion_id"] == world.conversions["by_click"].pk
    assert txn_ids(result, "amount_differs") == {"T-amount"}
    amount = result["amount_differs"]["rows"][0]
    assert amount["network"] == {
        "revenue": "50.00", "payout": "4.50", "approval": "approved",
        "status": "Approved" if preset == "tune" else "approved",
    }  # fmt: skip
    assert amount["trackly"] == {"revenue": "50.00", "payout": "5.00", "approval": "approved"}
    status = result["status_differs"]["rows"][0]
    assert status["txn_id"] == "T-status" and status["network"]["approval"] == "rejected"
    assert status["network"]["status"] == ("invalid" if preset == "everflow" else "rejected")
    missing = result["missing_in_trackly"]["rows"][0]
    assert missing["txn_id"] == "T-missing" and missing["trackly"] is None
    assert missing["click_id"] == world.clicks["missing"] and missing["line"] == 4
    unpaid = result["missing_at_network"]["rows"][0]
    assert unpaid["conversion_id"] == world.conversions["extra"].pk and unpaid["network"] is None
    # Totals: the network's amounts, Trackly's where the network has none.
    assert result["matched"]["total"] == {"revenue": "1060.00", "payout": "6.00"}
    assert result["missing_in_trackly"]["total"] == {"revenue": "60.00", "payout": "6.00"}
    assert result["missing_at_network"]["total"] == {"revenue": "15.00", "payout": "1.50"}
    # An unknown status is never guessed: its line is rejected, named.
    assert result["rejected"]["count"] == 1
    assert result["rejected"]["lines"][0]["line"] == 6
    assert "on the moon" in result["rejected"]["lines"][0]["reason"]
    assert all(result[b]["truncated"] is False for b in BUCKETS)

    again = owner.get(f"/api/v1/reconciliations/{result['id']}")
    assert again.status_code == 200 and again.json() == result
    listed = owner.get("/api/v1/reconciliations").json()
    assert listed["count"] == 1 and listed["results"][0]["matched"]["count"] == 2


@pytest.mark.django_db
def test_the_generic_preset_reads_the_import_columns(owner: Any) -> None:
    world = world_build(owner)
    header = ["txn_id", "click_id", "revenue", "payout", "status", "occurred_at"]
    body = file_of(header, [
        ["T-match", "", "1040.00", "4.00", "approved", world.when.isoformat()],
        ["T-amount", "", "51.00", "", "pending", ""],
    ])  # fmt: skip
    result = reconcile(owner, world, "generic", body)
    assert txn_ids(result, "matched") == {"T-match"}
    # One amount given: the other equals it (the postback rule). Pending vs approved.
    row = result["status_differs"]["rows"][0]
    assert row["network"]["revenue"] == row["network"]["payout"] == "51.00"
    assert row["network"]["approval"] == "pending"
    assert result["missing_at_network"]["count"] == 3  # T-status, by_click, T-extra


@pytest.mark.django_db
def test_map_overrides_a_preset_column(owner: Any) -> None:
    world = world_build(owner)
    body = tune_file(world).replace("Transaction ID", "Order", 1)
    refused = upload(owner.client, body, {"preset": "tune", "offer": world.offer.pk,
                                          **days(world, owner)})  # fmt: skip
    assert refused.status_code == 400 and "Transaction ID" in refused.json()["errors"]
    result = reconcile(owner, world, "tune", body, map="txn_id:Order")
    assert result["columns"]["txn_id"] == "Order"
    assert txn_ids(result, "matched") == {"T-match", "NET-7"}


@pytest.mark.django_db
def test_the_disputes_csv_lists_what_to_send_the_network(owner: Any) -> None:
    world = world_build(owner)
    body = tune_file(world).replace("T-missing", "=HYPERLINK(1)")
    result = reconcile(owner, world, "tune", body)
    response = owner.get(f"/api/v1/reconciliations/{result['id']}/disputes.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["issue"], r["txn_id"]) for r in rows] == [
        ("amount_differs", "T-amount"), ("status_differs", "T-status"),
        ("missing_in_trackly", "'=HYPERLINK(1)"),
    ]  # fmt: skip
    assert rows[0]["payout_difference"] == "-0.50" and rows[2]["revenue_difference"] == "60.00"


@pytest.mark.django_db
def test_restate_applies_the_network_figures_once(owner: Any) -> None:
    world = world_build(owner)
    result = reconcile(owner, world, "everflow", everflow_file(world))
    response = owner.client.post(f"/api/v1/reconciliations/{result['id']}/restate")
    assert response.status_code == 200, response.content
    assert response.json() == {"adjusted": 2, "created": 1, "skipped": []}

    amount = Conversion.objects.get(pk=world.conversions["amount"].pk)
    assert (amount.payout, amount.revenue, amount.approval) == (Decimal("4.5"), 50, "approved")
    status = Conversion.objects.get(pk=world.conversions["status"].pk)
    assert status.approval == "rejected"
    adjustment = ConversionAdjustment.objects.get(conversion=status)
    assert adjustment.source == "reconciliation" and adjustment.reconciliation_id == result["id"]
    assert adjustment.reason == f"restated from reconciliation {result['id']}"
    created = Conversion.objects.get(account=owner.account, txn_id="T-missing")
    click = MessageShortLinkClick.objects.get(click_id=world.clicks["missing"])
    # Credited by the attribution rule, as its postback would have been.
    assert created.raw_click_id == click.pk and created.contact_id == click.contact_id
    assert created.attribution_type in ("direct", "click_through")
    assert (created.revenue, created.payout, created.offer_id) == (60, 6, world.offer.pk)
    # The conversion the network lacks is a person's call.
    extra = Conversion.objects.get(pk=world.conversions["extra"].pk)
    assert extra.approval == "approved" and extra.payout == Decimal("1.5")

    detail = owner.get(f"/api/v1/reconciliations/{result['id']}").json()
    assert detail["restated_at"] is not None
    assert detail["missing_in_trackly"]["rows"][0]["restated"] is True
    assert detail["missing_in_trackly"]["rows"][0]["conversion_id"] == created.pk

    adjustments, conversions = ConversionAdjustment.objects.count(), Conversion.objects.count()
    second = owner.client.post(f"/api/v1/reconciliations/{result['id']}/restate")
    assert second.json() == {"adjusted": 0, "created": 0, "skipped": []}
    assert ConversionAdjustment.objects.count() == adjustments
    assert Conversion.objects.count() == conversions


@pytest.mark.django_db
def test_restate_skips_an_unknown_click_when_several_offers_are_reconciled(owner: Any) -> None:
    world = world_build(owner)
    other = make_offer(owner, name="Summer")
    at = world.when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    body = file_of(TUNE_HEADER, [["T-lost", "Zz9Zz9Zz9Zz9Zz9Z", "3.00", "", "30.00",
                                  "approved", at]])  # fmt: skip
    params = [("preset", "tune"), ("offer", world.offer.pk), ("offer", other.pk),
              *days(world, owner).items()]  # fmt: skip
    result = upload(owner.client, body, params).json()
    restate = owner.client.post(f"/api/v1/reconciliations/{result['id']}/restate").json()
    assert restate["created"] == 0 and restate["skipped"][0]["line"] == 1
    assert "several offers" in restate["skipped"][0]["reason"]
    assert not Conversion.objects.filter(txn_id="T-lost").exists()

    # With one offer it is kept as an offer-level conversion of that offer.
    single = reconcile(owner, world, "tune", body)
    restate = owner.client.post(f"/api/v1/reconciliations/{single['id']}/restate").json()
    assert restate["created"] == 1
    lost = Conversion.objects.get(txn_id="T-lost")
    assert (lost.offer_id, lost.attribution_type) == (world.offer.pk, "offer")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change,field",
    [
        ({"offer": None}, "offer"),
        ({"offer": "abc"}, "offer"),
        ({"start": None}, "start"),
        ({"end": None}, "end"),
        ({"start": "2026-13-01"}, "start"),
        ({"start": "2026-02-10", "end": "2026-02-01"}, "end"),
        ({"preset": "impact"}, "preset"),
        ({"map": "order_id:Order"}, "map"),
        ({"map": "txn_id"}, "map"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_input_is_a_400_naming_it(owner: Any, change: dict[str, Any], field: str) -> None:
    world = world_build(owner)
    params = {"preset": "tune", "offer": world.offer.pk, **days(world, owner)} | change
    params = {k: v for k, v in params.items() if v is not None}
    response = upload(owner.client, tune_file(world), params)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]


@pytest.mark.django_db
def test_a_file_missing_a_required_column_is_a_400_naming_it(owner: Any) -> None:
    world = world_build(owner)
    body = tune_file(world).replace("Status", "State", 1)
    response = upload(owner.client, body, {"preset": "tune", "offer": world.offer.pk,
                                           **days(world, owner)})  # fmt: skip
    assert response.status_code == 400
    assert "Status" in response.json()["errors"] and "Status" in response.json()["detail"]
    assert (
        upload(owner.client, "", {"offer": world.offer.pk, **days(world, owner)}).status_code == 400
    )
    wrong_type = upload(owner.client, tune_file(world), {"offer": world.offer.pk,
                        **days(world, owner)}, content_type="application/json")  # fmt: skip
    assert wrong_type.status_code == 415


@pytest.mark.django_db
def test_a_bom_and_a_crlf_file_are_read(owner: Any) -> None:
    world = world_build(owner)
    body = "\ufeff" + tune_file(world).replace("\r\n", "\n").replace("\n", "\r\n")
    result = reconcile(owner, world, "tune", body)
    assert result["matched"]["count"] == 2


@pytest.mark.django_db
def test_another_accounts_offer_and_conversions_are_not_seen(owner: Any, outsider: Any) -> None:
    world = world_build(owner)
    theirs = world_build(outsider)
    # The outsider has stored "T-missing": never a match for the owner's file.
    convert(outsider, theirs.clicks["missing"], "T-missing", "60.00", "6.00", theirs.when)
    response = upload(owner.client, tune_file(world), {"preset": "tune",
                      "offer": theirs.offer.pk, **days(world, owner)})  # fmt: skip
    assert response.status_code == 404 and "offer" in response.json()["errors"]
    result = reconcile(owner, world, "tune", tune_file(world))
    assert txn_ids(result, "missing_in_trackly") == {"T-missing"}
    their_ids = {c.pk for c in theirs.conversions.values()}
    assert not ReconciliationRow.objects.filter(conversion_id__in=their_ids).exists()
    for path in ("", "/disputes.csv"):
        assert outsider.get(f"/api/v1/reconciliations/{result['id']}{path}").status_code == 404
    assert (
        outsider.client.post(f"/api/v1/reconciliations/{result['id']}/restate").status_code == 404
    )
    assert outsider.get("/api/v1/reconciliations").json()["count"] == 0


def _client(account: Any, scopes: list[str]) -> APIClient:
    _, raw = ApiKey.generate(account=account.account, name="scoped", scopes=scopes)
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.mark.django_db
def test_a_read_key_reads_and_only_a_config_key_uploads_or_restates(owner: Any) -> None:
    world = world_build(owner)
    params = {"preset": "tune", "offer": world.offer.pk, **days(world, owner)}
    read, mint = _client(owner, ["read"]), _client(owner, ["mint"])
    assert upload(read, tune_file(world), params).status_code == 403
    result = reconcile(owner, world, "tune", tune_file(world))
    assert read.get(f"/api/v1/reconciliations/{result['id']}").status_code == 200
    assert read.get(f"/api/v1/reconciliations/{result['id']}/disputes.csv").status_code == 200
    assert read.post(f"/api/v1/reconciliations/{result['id']}/restate").status_code == 403
    assert mint.get(f"/api/v1/reconciliations/{result['id']}").status_code == 403
    config = _client(owner, ["config"])
    assert config.post(f"/api/v1/reconciliations/{result['id']}/restate").status_code == 200
