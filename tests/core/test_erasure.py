"""Erasing a contact (DELETE /api/v1/contacts/<id>, ?external_id=, ?phone=): what it
scrubs, the record and the event, 404 after, scopes and isolation, idempotence, and report
figures unchanged (the report oracle, rollups rebuilt in full too)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from attribution.models import PostbackLog
from audiences.models import Audience, AudienceMember, ContactLabel
from core.erasure import contact_erase
from core.models import ApiKey, ApiScope, Contact, ContactErasure, Event, Message
from links.models import MessageShortLink, MessageShortLinkClick
from reporting.services import rollups_build
from tests.reporting.dataset import dataset_build
from tests.reporting.reference import expected
from tests.reporting.test_rollups import snapshot

pytestmark = pytest.mark.django_db


def client_with(account: Any, scopes: list[str]) -> tuple[APIClient, ApiKey]:
    key, raw = ApiKey.generate(account=account, scopes=scopes)
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client, key


@pytest.fixture
def config(owner: Any) -> tuple[APIClient, ApiKey]:
    return client_with(owner.account, [ApiScope.CONFIG])


def minted(owner: Any, **contact: Any) -> Contact:
    result = owner.mint(contact=contact, body="Hi Ana, see https://shop.example/x")
    return Message.objects.get(pk=result["id"]).contact


def clicked_with_request(contact: Contact) -> MessageShortLinkClick:
    message = Message.objects.filter(contact=contact).first()
    link = MessageShortLink.objects.filter(message=message).first()
    return MessageShortLinkClick.objects.create(
        account_id=contact.account_id, short_link=link, message=message, contact=contact,
        ip="203.0.113.77", user_agent="Mozilla/5.0 (iPhone)", referer="https://mail.example/",
        accept_language="pt-BR", click_id=f"clk{contact.pk}x{message.pk}",
    )  # fmt: skip


def test_an_erasure_scrubs_everything_personal_and_keeps_a_record(owner, config) -> None:
    client, key = config
    ana = minted(owner, external_id="ana-1", phone="+14155550123", email="ana@example.com")
    keep = minted(owner, external_id="bob-1", phone="+14155550999")
    click = clicked_with_request(ana)
    other_click = clicked_with_request(keep)
    audience = Audience.objects.create(account=owner.account, name="all", rule={"all": []})
    AudienceMember.objects.create(audience=audience, contact=ana)
    AudienceMember.objects.create(audience=audience, contact=keep)
    ContactLabel.objects.create(account=owner.account, contact=ana, name="vip")
    Event.objects.create(
        account=owner.account, type="contact.audience_entered",
        data={"contact": {"id": ana.pk, "external_id": "ana-1", "phone": "+14155550123",
                          "email": "ana@example.com"}, "audience": {"id": audience.pk}},
    )  # fmt: skip
    logged = [
        PostbackLog.objects.create(account=owner.account, endpoint="conv", method="GET",
                                   query=q, body=b)
        for q, b in [
            ("offer=1&contact=ana-1&token=[redacted]", ""),
            ("contact=%2B1%20415%20555%200123&txn_id=t2", ""),
            ("", '{"contact": "+1 (415) 555-0123", "txn_id": "t3"}'),
            ("contact=bob-1&txn_id=t4", ""),
        ]
    ]  # fmt: skip

    r = client.delete(f"/api/v1/contacts/{ana.pk}")
    assert r.status_code == 204, r.content

    ana.refresh_from_db()
    assert (ana.phone, ana.email) == ("", "") and "ana" not in ana.external_id
    assert ana.erased_at is not None
    assert not Message.objects.filter(contact=ana).exclude(body="", rewritten_body="").exists()
    assert Message.objects.filter(contact=keep).exclude(body="").exists()
    click.refresh_from_db()
    assert (click.ip, click.user_agent, click.referer, click.accept_language) == (None, "", "", "")
    other_click.refresh_from_db()
    assert other_click.ip == "203.0.113.77"
    assert list(AudienceMember.objects.values_list("contact_id", flat=True)) == [keep.pk]
    assert not ContactLabel.objects.filter(contact=ana).exists()
    event = Event.objects.get(type="contact.audience_entered")
    assert event.data["contact"] == {"id": ana.pk, "external_id": "", "phone": "", "email": ""}
    texts = [(row.query, row.body) for row in PostbackLog.objects.order_by("pk")]
    assert texts == [
        ("offer=1&contact=[erased]&token=[redacted]", ""),
        ("contact=[erased]&txn_id=t2", ""),
        ("", '{"contact": "[erased]", "txn_id": "t3"}'),
        ("contact=bob-1&txn_id=t4", ""),
    ]
    assert len(logged) == 4
    record = ContactErasure.objects.get()
    assert (record.account_id, record.contact_id, record.lookup) == (owner.account.pk, ana.pk, "id")
    assert (record.api_key_id, record.api_key_prefix) == (key.pk, key.prefix)
    erased = Event.objects.get(type="contact.erased")
    assert erased.data["contact"] == {"id": ana.pk}

    reader, _ = client_with(owner.account, [ApiScope.READ])
    assert reader.get(f"/api/v1/contacts/{ana.pk}").status_code == 404
    assert reader.get(f"/api/v1/contacts/{ana.pk}/journey").status_code == 404
    assert client.delete(f"/api/v1/contacts/{ana.pk}").status_code == 404
    assert ContactErasure.objects.count() == 1


def test_erasing_twice_writes_nothing_twice(owner) -> None:
    ana = minted(owner, external_id="ana-2", phone="+14155550124")
    assert contact_erase(contact=ana, api_key=None, lookup="id") is not None
    assert contact_erase(contact=ana, api_key=None, lookup="id") is None
    assert ContactErasure.objects.count() == 1
    assert Event.objects.filter(type="contact.erased").count() == 1


def test_by_external_id_and_by_phone_in_any_format(owner, config) -> None:
    client, _ = config
    ana = minted(owner, external_id="ana-3", phone="+14155550125")
    bob = minted(owner, external_id="bob-3", phone="+14155550126")
    assert client.delete("/api/v1/contacts?external_id=ana-3").status_code == 204
    assert client.delete("/api/v1/contacts?phone=%2B1 (415) 555-0126").status_code == 204
    assert set(ContactErasure.objects.values_list("contact_id", "lookup")) == {
        (ana.pk, "external_id"), (bob.pk, "phone"),
    }  # fmt: skip


def test_a_later_message_to_that_phone_makes_a_new_contact(owner, config) -> None:
    client, _ = config
    ana = minted(owner, external_id="ana-4", phone="+14155550127")
    assert client.delete("/api/v1/contacts?external_id=ana-4").status_code == 204
    again = minted(owner, external_id="ana-4", phone="+14155550127")
    assert again.pk != ana.pk and again.erased_at is None
    reader, _ = client_with(owner.account, [ApiScope.READ])
    assert reader.get(f"/api/v1/contacts/{again.pk}").json()["phone"] == "+14155550127"


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ("external_id=nobody", 404, None),
        ("phone=%2B14155550000", 404, None),
        ("phone=12", 400, "phone"),
        ("", 400, "non_field_errors"),
        ("external_id=a&phone=%2B14155550000", 400, "non_field_errors"),
        ("email=a@example.com", 400, "email"),
    ],
)
def test_bad_or_unknown_lookups(owner, config, query, status, field) -> None:
    client, _ = config
    r = client.delete(f"/api/v1/contacts?{query}")
    assert r.status_code == status, r.content
    if field:
        assert field in r.json()["errors"]
    else:
        assert "No contact with" in r.json()["detail"]
    assert client.delete("/api/v1/contacts/999999999").status_code == 404


def test_another_accounts_contact_is_a_404_and_is_left_alone(owner, outsider) -> None:
    ana = minted(owner, external_id="ana-5", phone="+14155550128")
    stranger, _ = client_with(outsider.account, [ApiScope.CONFIG])
    assert stranger.delete(f"/api/v1/contacts/{ana.pk}").status_code == 404
    assert stranger.delete("/api/v1/contacts?external_id=ana-5").status_code == 404
    assert stranger.delete("/api/v1/contacts?phone=%2B14155550128").status_code == 404
    ana.refresh_from_db()
    assert ana.erased_at is None and ana.phone == "+14155550128"


@pytest.mark.parametrize("scope", [ApiScope.READ, ApiScope.MINT])
def test_a_read_or_mint_key_is_refused(owner, scope) -> None:
    ana = minted(owner, external_id="ana-6")
    client, _ = client_with(owner.account, [scope])
    assert client.delete(f"/api/v1/contacts/{ana.pk}").status_code == 403
    assert client.delete("/api/v1/contacts?external_id=ana-6").status_code == 403
    assert not ContactErasure.objects.exists()


def test_report_figures_are_unchanged_by_an_erasure_and_a_full_rebuild(owner, config) -> None:
    client, _ = config
    data = dataset_build(owner)
    rollups_build()
    dimensions = ("days", "campaigns", "offers", "messages", "devices", "countries")
    before_rollups = snapshot()
    before = {d: owner.get(f"/api/v1/reports/{d}").json() for d in dimensions}
    oracle = {d: expected(owner.account, d, {}) for d in ("days", "campaigns", "offers")}
    for key in ("m1", "m2"):
        contact = data.messages[key].contact
        assert client.delete(f"/api/v1/contacts/{contact.pk}").status_code == 204
    rollups_build()
    assert snapshot() == before_rollups
    assert {d: owner.get(f"/api/v1/reports/{d}").json() for d in dimensions} == before
    assert {d: expected(owner.account, d, {}) for d in oracle} == oracle
    call_command("build_rollups", "--full", stdout=io.StringIO())
    assert snapshot() == before_rollups
    assert {d: owner.get(f"/api/v1/reports/{d}").json() for d in dimensions} == before


def test_the_schema_lists_both_erasures(owner) -> None:
    r = owner.client.get("/api/v1/schema/?format=json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "delete" in paths["/api/v1/contacts/"]
    assert "delete" in paths["/api/v1/contacts/{id}/"]
