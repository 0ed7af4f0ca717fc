"""The audiences and contacts API: create (evaluated, with its count), list, read, change,
delete, members paged and as CSV; contacts with labels and is_test; scopes and isolation."""

from __future__ import annotations

import csv
import io

import pytest
from rest_framework.test import APIClient

from audiences.models import Audience, AudienceMember, ContactLabel
from core.models import ApiKey, ApiScope, Campaign, Contact, Event
from tests.audiences.facts import click_counted, contact_make, message_sent

pytestmark = pytest.mark.django_db


def client_with(account, scopes) -> APIClient:
    _, raw = ApiKey.generate(account=account, scopes=scopes)
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def spring(owner):
    return Campaign.objects.create(account=owner.account, name="Spring")


@pytest.fixture
def clickers(owner, spring):
    contacts = [contact_make(owner.account) for _ in range(3)]
    for c in contacts:
        click_counted(message_sent(c, campaign=spring))
    return contacts


def test_create_answers_with_the_count_and_read_list_patch_delete(owner, spring, clickers):
    rule = {"all": [{"clicked": {"campaign": spring.pk, "within_days": 7}}]}
    r = owner.post("/api/v1/audiences", {"name": "Spring clickers", "rule": rule})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["count"] == 3 and body["rule"] == rule and body["name"] == "Spring clickers"
    assert set(body) >= {"id", "name", "rule", "count", "created_at"}
    url = f"/api/v1/audiences/{body['id']}"
    assert owner.get(url).json()["count"] == 3
    listed = owner.get("/api/v1/audiences").json()
    assert [(a["name"], a["count"]) for a in listed["results"]] == [("Spring clickers", 3)]

    ContactLabel.objects.create(account=owner.account, contact=clickers[0], name="vip")
    r = owner.client.patch(url, {"rule": {"all": [{"label": "vip"}]}}, format="json")
    assert r.status_code == 200 and r.json()["count"] == 1
    r = owner.client.patch(url, {"name": "VIPs"}, format="json")
    assert r.json()["name"] == "VIPs" and r.json()["count"] == 1
    assert owner.client.delete(url).status_code == 204
    assert not Audience.objects.exists() and not AudienceMember.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "rule": {"all": [{"opened": {}}]}}, "rule.all[0].opened"),
        ({"name": "x", "rule": {"all": [{"clicked": {"color": 1}}]}}, "rule.all[0].clicked.color"),
        (
            {"name": "x", "rule": {"all": [{"clicked": {"within_days": 0}}]}},
            "rule.all[0].clicked.within_days",
        ),
        ({"name": "x", "rule": {"all": []}}, "rule.all"),
        ({"name": "", "rule": {"all": [{"clicked": {}}]}}, "name"),
        ({"rule": {"all": [{"clicked": {}}]}}, "name"),
        ({"name": "x", "rule": {"all": [{"clicked": {}}]}, "count": 3}, "count"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(owner, body, field):
    r = owner.post("/api/v1/audiences", body)
    assert r.status_code == 400, r.content
    assert field in r.json()["errors"], r.json()


def test_another_accounts_campaign_in_a_rule_is_a_400_naming_it(owner, outsider):
    theirs = Campaign.objects.create(account=outsider.account, name="Theirs")
    r = owner.post(
        "/api/v1/audiences", {"name": "x", "rule": {"all": [{"clicked": {"campaign": theirs.pk}}]}}
    )
    assert r.status_code == 400
    assert "rule.all[0].clicked.campaign" in r.json()["errors"]


def test_a_name_is_unique_per_account(owner, outsider):
    body = {"name": "Same", "rule": {"all": [{"clicked": {}}]}}
    assert owner.post("/api/v1/audiences", body).status_code == 201
    r = owner.post("/api/v1/audiences", body)
    assert r.status_code == 400 and "name" in r.json()["errors"]
    assert outsider.post("/api/v1/audiences", body).status_code == 201


def test_members_paged_and_as_csv_with_formulas_defused(owner, spring, clickers):
    Contact.objects.filter(pk=clickers[1].pk).update(external_id="=HYPERLINK(1)")
    r = owner.post("/api/v1/audiences", {"name": "A", "rule": {"all": [{"clicked": {}}]}})
    url = f"/api/v1/audiences/{r.json()['id']}/contacts"
    page = owner.get(url, limit=2).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert set(page["results"][0]) == {"id", "external_id", "phone", "email", "entered_at"}
    rest = owner.get(url, limit=2, offset=2).json()["results"]
    ids = {row["id"] for row in page["results"] + rest}
    assert ids == {c.pk for c in clickers}
    assert owner.get(url, limit=0).status_code == 400

    r = owner.get(url, format="csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(r.streaming_content).decode())))
    assert rows[0] == ["id", "external_id", "phone", "email", "entered_at"]
    assert len(rows) == 4
    assert "'=HYPERLINK(1)" in [row[1] for row in rows]
    assert owner.get(url, format="xml").status_code == 400


def test_scopes(owner, clickers):
    reader = client_with(owner.account, [ApiScope.READ])
    config = client_with(owner.account, [ApiScope.CONFIG])
    mint = client_with(owner.account, [ApiScope.MINT])
    body = {"name": "A", "rule": {"all": [{"clicked": {}}]}}
    assert reader.post("/api/v1/audiences", body, format="json").status_code == 403
    created = config.post("/api/v1/audiences", body, format="json")
    assert created.status_code == 201
    pk = created.json()["id"]
    assert reader.get(f"/api/v1/audiences/{pk}").status_code == 200
    assert reader.get(f"/api/v1/audiences/{pk}/contacts").status_code == 200
    assert config.get(f"/api/v1/audiences/{pk}/contacts").status_code == 403
    assert mint.get(f"/api/v1/audiences/{pk}").status_code == 403

    contact = clickers[0]
    assert mint.get(f"/api/v1/contacts/{contact.pk}").status_code == 200
    assert reader.get(f"/api/v1/contacts/{contact.pk}").status_code == 200
    labels = {"add": ["vip"]}
    assert (
        reader.post(f"/api/v1/contacts/{contact.pk}/labels", labels, format="json").status_code
        == 403
    )
    assert (
        mint.patch(f"/api/v1/contacts/{contact.pk}", {"is_test": True}, format="json").status_code
        == 403
    )


def test_another_accounts_ids_are_404_everywhere(owner, outsider, clickers):
    r = owner.post("/api/v1/audiences", {"name": "A", "rule": {"all": [{"clicked": {}}]}})
    pk, contact = r.json()["id"], clickers[0]
    for path in (
        f"/api/v1/audiences/{pk}",
        f"/api/v1/audiences/{pk}/contacts",
        f"/api/v1/contacts/{contact.pk}",
        f"/api/v1/contacts/{contact.pk}/journey",
    ):
        assert outsider.get(path).status_code == 404, path
    assert (
        outsider.client.patch(f"/api/v1/audiences/{pk}", {"name": "B"}, format="json").status_code
        == 404
    )
    assert outsider.client.delete(f"/api/v1/audiences/{pk}").status_code == 404
    assert (
        outsider.client.patch(
            f"/api/v1/contacts/{contact.pk}", {"is_test": True}, format="json"
        ).status_code
        == 404
    )
    assert outsider.post(f"/api/v1/contacts/{contact.pk}/labels", {"add": ["x"]}).status_code == 404
    assert outsider.get("/api/v1/audiences").json()["results"] == []
    assert Audience.objects.filter(pk=pk, name="A").exists()
    assert not ContactLabel.objects.exists()
    assert not Contact.objects.get(pk=contact.pk).is_test


def test_contact_read_labels_and_is_test(owner, clickers):
    contact = clickers[0]
    audience = owner.post(
        "/api/v1/audiences", {"name": "VIP", "rule": {"all": [{"label": "vip"}]}}
    ).json()
    url = f"/api/v1/contacts/{contact.pk}"
    assert owner.get(url).json() == {
        "id": contact.pk,
        "external_id": contact.external_id,
        "phone": contact.phone,
        "email": "",
        "is_test": False,
        "labels": [],
    }
    r = owner.post(f"{url}/labels", {"add": [" vip ", "gold"], "remove": ["none"]})
    assert r.status_code == 200 and r.json()["labels"] == ["gold", "vip"]
    assert owner.get(f"/api/v1/audiences/{audience['id']}").json()["count"] == 1
    assert Event.objects.filter(type="contact.audience_entered").count() == 1
    r = owner.post(f"{url}/labels", {"remove": ["gold"]})
    assert r.json()["labels"] == ["vip"]

    r = owner.client.patch(url, {"is_test": True}, format="json")
    assert r.status_code == 200 and r.json()["is_test"] is True
    assert owner.get(f"/api/v1/audiences/{audience['id']}").json()["count"] == 0  # testers leave
    assert owner.get(f"{url}/journey").status_code == 200  # the journey route still answers


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"add": [""]}, "add[0]"),
        ({"add": ["  "]}, "add[0]"),
        ({"add": ["x" * 101]}, "add[0]"),
        ({"add": "vip"}, "add"),
        ({"add": [3]}, "add[0]"),
        ({"remove": ["x"] * 101}, "remove"),
        ({"add": ["x"], "tag": 1}, "tag"),
    ],
)
def test_bad_labels_are_a_400(owner, clickers, body, field):
    r = owner.post(f"/api/v1/contacts/{clickers[0].pk}/labels", body)
    assert r.status_code == 400 and field in r.json()["errors"], r.content
    assert not ContactLabel.objects.exists()


def test_contact_patch_refuses_unknown_fields_and_non_booleans(owner, clickers):
    url = f"/api/v1/contacts/{clickers[0].pk}"
    r = owner.client.patch(url, {"phone": "+1"}, format="json")
    assert r.status_code == 400 and "phone" in r.json()["errors"]
    r = owner.client.patch(url, {"is_test": "yes"}, format="json")
    assert r.status_code == 400 and "is_test" in r.json()["errors"]
