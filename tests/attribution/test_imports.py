"""POST /api/v1/conversions/import and GET /api/v1/conversions/imports/<id>: the 202/GET
contract, each rejection, the dry run, idempotency, updates through adjustments, scopes,
tenant isolation, and the report oracle after an import (before and after rollups)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from attribution import imports, rules
from attribution.models import Conversion, ConversionAdjustment, ConversionImport, PostbackLog
from core.events import Event
from core.models import ApiKey
from links.models import MessageClick, MessageShortLinkClick
from reporting.services import rollups_build
from tests.helpers import clicked, make_offer, tap
from tests.reporting.dataset import at, dataset_build
from tests.reporting.reference import expected
from tests.reporting.test_reports import fetch_all

CSV = "text/csv"


def post(account: Any, body: str | bytes, *, dry_run: str | None = None, **kw: Any) -> Any:
    path = "/api/v1/conversions/import" + (f"?dry_run={dry_run}" if dry_run is not None else "")
    data = body.encode() if isinstance(body, str) else body
    return account.client.post(path, data, content_type=kw.get("content_type", CSV))


def run(account: Any, body: str, *, dry_run: bool = False, capture: Any) -> dict[str, Any]:
    """Post the file, run its task (eager, on commit), and answer the finished import."""
    with capture(execute=True):
        response = post(account, body, dry_run="true" if dry_run else "false")
    assert response.status_code == 202, response.content
    queued = response.json()
    assert queued["status"] == "queued" and queued["dry_run"] is dry_run
    got = account.client.get(f"/api/v1/conversions/imports/{queued['id']}")
    assert got.status_code == 200
    body = got.json()
    assert body["status"] == "done", body
    return body


def counts(result: dict[str, Any]) -> tuple[int, int, int, int]:
    return result["created"], result["updated"], result["unchanged"], len(result["rejected"])


@pytest.fixture
def capture(django_capture_on_commit_callbacks: Any) -> Any:
    return django_capture_on_commit_callbacks


# The contract ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_queued_import_answers_null_counts_until_done(owner: Any) -> None:
    offer = make_offer(owner)
    response = post(owner, f"txn_id,offer\nT1,{offer.pk}\n")  # not on commit: not run yet
    assert response.status_code == 202
    queued = response.json()
    assert set(queued) == {"id", "status", "dry_run"} and queued["dry_run"] is False
    body = owner.client.get(f"/api/v1/conversions/imports/{queued['id']}").json()
    assert body["status"] == "queued"
    assert (body["created"], body["updated"], body["unchanged"], body["rejected"]) == (
        None, None, None, [],
    )  # fmt: skip
    assert imports.conversion_import_run(queued["id"]) is True
    assert imports.conversion_import_run(queued["id"]) is False  # delivered twice: run once
    body = owner.client.get(f"/api/v1/conversions/imports/{queued['id']}").json()
    assert (body["status"], body["created"], body["rows"]) == ("done", 1, 1)
    assert ConversionImport.objects.get(pk=queued["id"]).body == ""


@pytest.mark.django_db
def test_new_rows_are_credited_by_the_attribution_rule(owner: Any, capture: Any) -> None:
    offer = make_offer(owner, default_payout=Decimal("4.00"))
    link_id, click_id = clicked(owner, offer)
    _, other_click = clicked(owner, offer)
    contact_link = owner.mint(
        contact={"external_id": "ext-9", "phone": "+14155550199"},
        body="{{l}}",
        links={"l": {"offer": offer.pk}},
    )["links"][0]["link_id"]
    tap(owner, contact_link, at=timezone.now() - dt.timedelta(hours=2))
    now = int(timezone.now().timestamp())
    body = (
        "txn_id,event,offer,click_id,link_id,contact,revenue,payout,status,occurred_at\n"
        f"A1,,,{click_id},,,10.00,2.50,,{now}\n"
        f"A2,sale,,,{link_id},,7,,pending,\n"
        f"A3,,{offer.pk},,,ext-9,,,,\n"
        f"A4,,{offer.pk},,,+1 415 555 0199,,,,{timezone.now().isoformat()}\n"
        f"A5,,{offer.pk},,,,1.00,,,\n"
        f"A6,,,ZZZZZZZZZZZZZZZZ,,,3,,,\n"
        f"A7,,{offer.pk},{other_click},,,3,,,\n"
    )
    result = run(owner, body, capture=capture)
    assert counts(result) == (7, 0, 0, 0), result["rejected"]
    got = {c.txn_id: c for c in Conversion.objects.filter(account=owner.account)}
    assert got["A1"].attribution_type == "click_through"
    assert (got["A1"].revenue, got["A1"].payout) == (Decimal("10.00"), Decimal("2.50"))
    assert got["A1"].message_click.raw_click.click_id == click_id
    assert (got["A2"].event, got["A2"].approval, got["A2"].payout) == ("sale", "pending", 7)
    assert got["A2"].attribution_type == "click_through"
    assert got["A3"].attribution_type == "click_through"  # the contact's click on the offer
    assert (got["A3"].revenue, got["A3"].revenue_reported) == (Decimal("4.00"), False)
    assert got["A4"].contact_id == got["A3"].contact_id  # by phone
    assert got["A5"].attribution_type == "offer"
    assert got["A6"].attribution_type == "none"
    assert got["A6"].unattributed_reason == "click ZZZZZZZZZZZZZZZZ not found"
    assert got["A7"].message_click.raw_click.click_id == other_click
    logs = PostbackLog.objects.filter(account=owner.account, endpoint="import")
    assert logs.count() == 7 and {log.outcome for log in logs} == {"accepted"}
    assert got["A1"].postback_log.query.startswith("txn_id=A1&")
    assert got["A1"].postback_log.reason == f"import {result['id']}, row 1"


@pytest.mark.django_db
def test_the_import_follows_a_swapped_attribution_rule(
    owner: Any, capture: Any, monkeypatch: Any
) -> None:
    offer = make_offer(owner, click_window_days=7)
    _, old_click = clicked(owner, offer)
    Conversion.objects.all().delete()
    three_days = timezone.now() - dt.timedelta(days=3)
    MessageShortLinkClick.objects.filter(click_id=old_click).update(clicked_at=three_days)
    MessageClick.objects.filter(raw_click__click_id=old_click).update(clicked_at=three_days)
    result = run(owner, f"txn_id,click_id\nK1,{old_click}\n", capture=capture)
    assert result["created"] == 1
    assert Conversion.objects.get(txn_id="K1").attribution_type == "click_through"
    monkeypatch.setattr(rules, "WINDOW_DAYS", "1")  # the swap test's fragment
    run(owner, f"txn_id,click_id\nK2,{old_click}\n", capture=capture)
    k2 = Conversion.objects.get(txn_id="K2")
    # A 1-day window leaves the 3-day-old click out; the message, received today, is inside.
    assert (k2.attribution_type, k2.message_click_id) == ("view_through", None)


# Rejections --------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_bad_row_is_rejected_with_its_reason_and_the_rest_go_on(
    owner: Any, outsider: Any, capture: Any
) -> None:
    offer = make_offer(owner, revenue_cap=Decimal("100"))
    plain = make_offer(owner)
    theirs = make_offer(outsider)
    link_id, click_id = clicked(owner, offer)
    _, their_click = clicked(outsider, theirs)
    their_link, _ = clicked(outsider, theirs)
    rows = [
        ("ok", f"OK,,{offer.pk},,,,5,,,"),
        ("txn_id: is required", f",,{offer.pk},,,,5,,,"),
        ("event:", f"E,b@d,{offer.pk},,,,5,,,"),
        ("offer: 'x1' is not an offer id", "O,,x1,,,,,,,"),
        ("offer: unknown offer", f"O2,,{theirs.pk},,,,5,,,"),
        ("give one of", f"M,,,{click_id},{link_id},,,,,"),
        ("click_id: must be 16", "C,,,short,,,,,,"),
        ("link_id: must be 7", "L,,,,toolong1,,,,,"),
        ("link_id: unknown link", f"L2,,,,{their_link},,,,,"),
        ("offer: is required with contact", "P,,,,,someone,,,,"),
        ("contact: unknown contact", f"P2,,{offer.pk},,,nobody,,,,"),
        ("click_id: give click_id", "N,,,,,,5,,,"),
        ("revenue: '-1'", f"R,,{offer.pk},,,,-1,,,"),
        ("payout: 'abc'", f"R2,,{offer.pk},,,,,abc,,"),
        ("revenue: is above this offer's revenue cap", f"R3,,{offer.pk},,,,101,,,"),
        ("payout: is above this offer's revenue cap", f"R4,,{offer.pk},,,,5,150,,"),
        ("status: 'paid' is not one of", f"S,,{offer.pk},,,,5,,paid,"),
        ("occurred_at:", f"T,,{offer.pk},,,,5,,,yesterday"),
        ("offer: ", f"W,,{plain.pk},{click_id},,,5,,,"),  # not the click's offer
        ("repeats txn_id 'OK'", f"OK,,{offer.pk},,,,6,,,"),
        ("has 3 cells", "X,1,2"),
    ]
    body = "txn_id,event,offer,click_id,link_id,contact,revenue,payout,status,occurred_at\n"
    body += "\n".join(line for _, line in rows) + "\n\n"  # a trailing blank line: no row
    # Another account's click is no click of this account: kept, never credited across.
    body += f"XC,,,{their_click},,,5,,,\n"
    result = run(owner, body, capture=capture)
    rejected = {r["row"]: r["reason"] for r in result["rejected"]}
    assert result["created"] == 2 and result["rows"] == len(rows) + 1
    for number, (want, _) in enumerate(rows, start=1):
        if want == "ok":
            assert number not in rejected
        else:
            assert want in rejected[number], (number, rejected.get(number))
    xc = Conversion.objects.get(account=owner.account, txn_id="XC")
    assert xc.attribution_type == "none" and xc.message_click_id is None
    assert xc.unattributed_reason == f"click {their_click} not found"
    assert not Conversion.objects.filter(account=outsider.account, txn_id__in=["XC", "O2"]).exists()
    outcomes = PostbackLog.objects.filter(account=owner.account, endpoint="import")
    assert outcomes.filter(outcome="rejected").count() == len(rows) - 1
    bad = outcomes.get(reason__contains="row 2:")
    assert bad.reason == f"import {result['id']}, row 2: txn_id: is required"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("", "body"),
        ("\n\n", "body"),
        ("txn_id,colour\nT,red\n", "colour"),
        ("offer,click_id\n1,x\n", "txn_id"),
        ("txn_id,txn_id\n1,2\n", "txn_id"),
        (b"txn_id\n\xff\xfe\n", "body"),
    ],
)
def test_a_file_that_cannot_be_imported_is_a_400_naming_the_field(
    owner: Any, body: Any, field: str
) -> None:
    response = post(owner, body)
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not ConversionImport.objects.exists()


@pytest.mark.django_db
def test_content_type_dry_run_and_size_are_checked(owner: Any, monkeypatch: Any) -> None:
    response = post(owner, "txn_id\nT\n", content_type="application/json")
    assert response.status_code == 415
    assert post(owner, "txn_id\nT\n", dry_run="maybe").json()["errors"] == {
        "dry_run": ["Must be true or false."]
    }
    assert (
        "colour"
        in owner.client.post(
            "/api/v1/conversions/import?colour=1", b"txn_id\nT\n", content_type=CSV
        ).json()["errors"]
    )
    monkeypatch.setattr(imports.bounds, "MAX_IMPORT_ROWS", 2)
    assert "body" in post(owner, "txn_id\nA\nB\nC\n").json()["errors"]
    monkeypatch.setattr(imports.bounds, "MAX_IMPORT_BYTES", 10)
    assert post(owner, "txn_id\nA\nB\n").status_code == 413
    # A byte order mark and text/csv with a charset are fine.
    monkeypatch.setattr(imports.bounds, "MAX_IMPORT_BYTES", 1000)
    ok = post(owner, "\ufefftxn_id\nA\n".encode(), content_type="text/csv; charset=utf-8")
    assert ok.status_code == 202
    assert not ConversionImport.objects.exclude(pk=ok.json()["id"]).exists()


# Dry run, idempotency, updates -------------------------------------------------------


def _file(offer: Any, click_id: str) -> str:
    return (
        "txn_id,offer,click_id,revenue,payout,status\n"
        f"D1,,{click_id},20,5,\n"
        f"D2,{offer.pk},,8,,pending\n"
        f"D3,{offer.pk},,1,,nonsense\n"
    )


def _writes(account: Any) -> tuple[int, int, int, int]:
    return (
        Conversion.objects.filter(account=account.account).count(),
        PostbackLog.objects.filter(account=account.account).count(),
        ConversionAdjustment.objects.count(),
        Event.objects.filter(account=account.account, type="conversion.updated").count(),
    )


@pytest.mark.django_db
def test_a_dry_run_writes_nothing_and_counts_the_same(owner: Any, capture: Any) -> None:
    offer = make_offer(owner)
    _, click_id = clicked(owner, offer)
    before = _writes(owner)
    dry = run(owner, _file(offer, click_id), dry_run=True, capture=capture)
    assert _writes(owner) == before
    real = run(owner, _file(offer, click_id), capture=capture)
    assert counts(dry) == counts(real) == (2, 0, 0, 1)
    assert (
        dry["rejected"]
        == real["rejected"]
        == [
            {
                "row": 3,
                "reason": "status: 'nonsense' is not one of approved, pending, rejected, reversed",
            }
        ]
    )
    # And a dry run of changes counts them without making them.
    change = "txn_id,revenue,status\nD1,15,reversed\nD2,8,pending\nD3,1,\n"
    before = _writes(owner)
    dry = run(owner, change, dry_run=True, capture=capture)
    assert _writes(owner) == before and counts(dry) == (0, 1, 1, 1)
    assert "offer" in dry["rejected"][0]["reason"]  # D3 is new, and names no conversion


@pytest.mark.django_db
def test_the_same_file_twice_changes_nothing_the_second_time(owner: Any, capture: Any) -> None:
    offer = make_offer(owner)
    _, click_id = clicked(owner, offer)
    first = run(owner, _file(offer, click_id), capture=capture)
    stored = list(Conversion.objects.filter(account=owner.account).values().order_by("pk"))
    second = run(owner, _file(offer, click_id), capture=capture)
    assert counts(first) == (2, 0, 0, 1) and counts(second) == (0, 0, 2, 1)
    assert list(Conversion.objects.filter(account=owner.account).values().order_by("pk")) == (
        stored
    )
    assert not ConversionAdjustment.objects.exists()
    logs = PostbackLog.objects.filter(reason__startswith=f"import {second['id']},")
    assert sorted(log.outcome for log in logs) == ["duplicate", "duplicate", "rejected"]


@pytest.mark.django_db
def test_a_stored_conversion_is_updated_through_adjustments(owner: Any, capture: Any) -> None:
    offer = make_offer(owner, revenue_cap=Decimal("50"))
    _, click_id = clicked(owner, offer)
    run(owner, f"txn_id,click_id,revenue,payout\nU1,{click_id},40,10\nU2,{click_id},9,\n",
        capture=capture)  # fmt: skip
    u1 = Conversion.objects.get(txn_id="U1")
    Conversion.objects.filter(pk=u1.pk).update(announced_at=timezone.now())
    result = run(
        owner,
        # U1: a partial refund, reversed; only the columns given change. U2: over the cap.
        "txn_id,revenue,payout,status,offer\nU1,25,,reversed,999999\nU2,60,,,\n",
        capture=capture,
    )
    assert counts(result) == (0, 1, 0, 1)
    assert result["rejected"] == [
        {"row": 2, "reason": "revenue: is above this offer's revenue cap"}
    ]
    u1.refresh_from_db()
    assert (u1.revenue, u1.payout, u1.approval) == (Decimal("25"), Decimal("10"), "reversed")
    adjustment = ConversionAdjustment.objects.get(conversion=u1)
    assert (adjustment.source, adjustment.conversion_import_id) == ("import", result["id"])
    assert adjustment.actor.startswith("key ")
    assert (adjustment.revenue_before, adjustment.revenue_after) == (Decimal("40"), Decimal("25"))
    event = Event.objects.get(type="conversion.updated")
    assert event.data["previous"]["approval"] == "approved"
    log = PostbackLog.objects.get(reason=f"import {result['id']}, row 1")
    assert log.outcome == "updated"


# Who may ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_scopes_and_another_accounts_import(owner: Any, outsider: Any, capture: Any) -> None:
    offer = make_offer(owner)
    done = run(owner, f"txn_id,offer\nT1,{offer.pk}\n", capture=capture)

    def client(scopes: list[str]) -> APIClient:
        _, raw = ApiKey.generate(account=owner.account, name="-".join(scopes), scopes=scopes)
        c = APIClient(HTTP_HOST="localhost")
        c.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        return c

    reader = client(["read"])
    url = "/api/v1/conversions/import"
    assert reader.post(url, b"txn_id\nX\n", content_type=CSV).status_code == 403
    assert client(["mint"]).get(f"/api/v1/conversions/imports/{done['id']}").status_code == 403
    assert reader.get(f"/api/v1/conversions/imports/{done['id']}").json()["created"] == 1
    assert client(["config"]).post(url, b"txn_id\nX\n", content_type=CSV).status_code == 202
    missing = outsider.client.get(f"/api/v1/conversions/imports/{done['id']}")
    assert missing.status_code == 404
    anonymous = APIClient(HTTP_HOST="localhost").post(url, b"txn_id\n", content_type=CSV)
    assert anonymous.status_code in (401, 403)


@pytest.mark.django_db
def test_a_failed_import_says_so_and_writes_nothing(owner: Any, monkeypatch: Any) -> None:
    offer = make_offer(owner)
    job = imports.conversion_import_create(
        account=owner.account, body=f"txn_id,offer\nF1,{offer.pk}\n".encode(), dry_run=False
    )

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(imports, "_logs_insert", broken)
    imports.conversion_import_run(job.pk)
    body = owner.client.get(f"/api/v1/conversions/imports/{job.pk}").json()
    assert body["status"] == "failed" and "nothing was written" in body["error"]
    assert body["created"] is None
    assert not Conversion.objects.filter(txn_id="F1").exists()


# The oracle --------------------------------------------------------------------------

ORACLE_DIMENSIONS = ("campaigns", "offers", "days", "messages")


def _reports_match(data: Any) -> None:
    account = data.account
    for dimension in ORACLE_DIMENSIONS:
        got = fetch_all(account, dimension)
        want_rows, want_totals = expected(account.account, dimension, {})
        figures = next(iter(want_rows.values()))
        got_rows = {k: {f: r[f] for f in figures} for k, r in got["rows"].items()}
        assert got_rows == want_rows, dimension
        assert {f: got["totals"][f] for f in want_totals} == want_totals, dimension


def built(data: Any) -> None:
    """The reports equal the raw rows once the stale hours the import's writes marked are
    rebuilt (rollups_build), and again after rebuilding everything from scratch."""
    rollups_build()
    _reports_match(data)
    rollups_build(everything=True)
    _reports_match(data)


@pytest.mark.django_db
def test_reports_equal_the_raw_rows_after_an_import(owner: Any, capture: Any) -> None:
    data = dataset_build(owner)
    rollups_build()
    _reports_match(data)
    a, b = data.offers["A"], data.offers["B"]
    m1, m3 = data.clicks["m1-first"], data.clicks["m3-person"]
    body = (
        "txn_id,event,offer,click_id,contact,revenue,payout,occurred_at\n"
        f"I1,purchase,,{m1.click_id},,12.00,3.00,{at('2026-01-10 07:00').isoformat()}\n"
        f"I2,purchase,,{m3.click_id},,5.50,,{at('2026-01-11 13:10').isoformat()}\n"
        f"I3,purchase,{b.pk},,contact-m2,4,,{at('2026-01-10 18:00').isoformat()}\n"
        f"I4,purchase,{a.pk},,,9,,{at('2026-01-11 09:00').isoformat()}\n"
    )
    assert counts(run(owner, body, capture=capture)) == (4, 0, 0, 0)
    built(data)
    # Updates lowering amounts (a stored postback's and an imported one's).
    lowered = "txn_id,event,revenue,payout\nt1,purchase,6.00,\nI1,purchase,10.00,1.50\n"
    assert counts(run(owner, lowered, capture=capture)) == (0, 2, 0, 0)
    built(data)
    assert Conversion.objects.get(txn_id="t1").revenue == Decimal("6.00")
    # Status changes: a postback's conversion reversed, imported ones rejected and pending
    # (the reference, like the reports, counts each by its approval: reporting.credit).
    statuses = (
        "txn_id,event,status\nt2,purchase,reversed\nI2,purchase,rejected\nI1,purchase,pending\n"
    )
    assert counts(run(owner, statuses, capture=capture)) == (0, 3, 0, 0)
    built(data)
    approvals = dict(Conversion.objects.values_list("txn_id", "approval"))
    assert (approvals["t2"], approvals["I2"], approvals["I1"]) == (
        "reversed",
        "rejected",
        "pending",
    )
