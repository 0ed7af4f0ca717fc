"""The dashboard's Audiences pages and the labels on the contact page: members see them,
admins edit them, other accounts get a 404."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from audiences.labels import contact_labels
from audiences.models import Audience, AudienceMember
from audiences.services import audience_create
from core.models import Campaign, Membership
from tests.audiences.facts import click_counted, contact_make, message_sent

pytestmark = pytest.mark.django_db


def login(account, role=Membership.Role.ADMIN, name="ann") -> Client:
    user = get_user_model().objects.create_user(f"{name}-{account.pk}", password="x" * 20)
    Membership.objects.create(user=user, account=account, role=role)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


@pytest.fixture
def setup(owner):
    a = owner.account
    spring = Campaign.objects.create(account=a, name="Spring <b>")
    contact = contact_make(a)
    click_counted(message_sent(contact, campaign=spring))
    audience = audience_create(
        account=a,
        name="Spring clickers",
        rule={"all": [{"clicked": {"campaign": spring.pk, "within_days": 7}}]},
    )
    return a, audience, contact


def test_list_and_audience_page_with_members_and_csv(setup):
    a, audience, contact = setup
    client = login(a, Membership.Role.VIEWER)
    r = client.get(f"/dashboard/{a.pk}/audiences/")
    assert r.status_code == 200
    text = r.content.decode()
    assert "Spring clickers" in text and "in the last 7 days" in text
    assert "Spring &lt;b&gt;" in text  # escaped
    assert "New audience" not in text  # viewers do not edit
    r = client.get(f"/dashboard/{a.pk}/audiences/{audience.pk}/")
    assert r.status_code == 200 and contact.external_id in r.content.decode()
    r = client.get(
        f"/dashboard/{a.pk}/audiences/{audience.pk}/", {"format": "csv", "table": "members"}
    )
    assert r.status_code == 200
    body = b"".join(r.streaming_content).decode()
    assert body.splitlines()[0].startswith("contact_id") and contact.external_id in body
    assert client.get(f"/dashboard/{a.pk}/audiences/new/").status_code == 403


def test_admins_create_and_edit_with_errors_shown(setup):
    a, audience, contact = setup
    client = login(a)
    r = client.post(
        f"/dashboard/{a.pk}/audiences/new/", {"name": "Bad", "rule": '{"all": [{"opened": {}}]}'}
    )
    assert r.status_code == 400 and "all[0].opened" in r.content.decode()
    r = client.post(f"/dashboard/{a.pk}/audiences/new/", {"name": "Bad", "rule": "{not json"})
    assert r.status_code == 400 and "Not JSON" in r.content.decode()
    r = client.post(
        f"/dashboard/{a.pk}/audiences/new/",
        {"name": "Everyone clicking", "rule": '{"all": [{"clicked": {}}]}'},
    )
    assert r.status_code == 302
    created = Audience.objects.get(name="Everyone clicking")
    assert AudienceMember.objects.filter(audience=created).count() == 1
    r = client.post(
        f"/dashboard/{a.pk}/audiences/{created.pk}/edit/",
        {"name": "Renamed", "rule": '{"all": [{"label": "vip"}]}'},
    )
    assert r.status_code == 302
    assert not AudienceMember.objects.filter(audience=created).exists()


def test_labels_on_the_contact_page(setup):
    a, audience, contact = setup
    admin = login(a)
    page = f"/dashboard/{a.pk}/contacts/{contact.pk}/"
    r = admin.post(f"{page}labels/", {"add": "vip, gold"})
    assert r.status_code == 302 and contact_labels(contact.pk) == ["gold", "vip"]
    text = admin.get(page).content.decode()
    assert 'id="labels"' in text and "gold" in text and "Remove label vip" in text
    admin.post(f"{page}labels/", {"remove": "gold"})
    assert contact_labels(contact.pk) == ["vip"]
    viewer = login(a, Membership.Role.VIEWER, name="vic")
    assert "Remove label" not in viewer.get(page).content.decode()
    assert viewer.post(f"{page}labels/", {"add": "x"}).status_code == 403
    assert contact_labels(contact.pk) == ["vip"]


def test_another_accounts_audience_is_a_404(setup, outsider):
    a, audience, contact = setup
    client = login(outsider.account, name="out")
    base = f"/dashboard/{outsider.account.pk}"
    assert client.get(f"{base}/audiences/{audience.pk}/").status_code == 404
    assert client.get(f"{base}/audiences/{audience.pk}/edit/").status_code == 404
    assert client.post(f"{base}/contacts/{contact.pk}/labels/", {"add": "x"}).status_code == 404
    assert client.get(f"/dashboard/{a.pk}/audiences/").status_code == 404


def test_erase_this_contact_on_the_contact_page(setup):
    from core.models import ContactErasure

    a, audience, contact = setup
    page = f"/dashboard/{a.pk}/contacts/{contact.pk}/"
    viewer = login(a, Membership.Role.VIEWER, name="vic")
    assert "Erase this contact" not in viewer.get(page).content.decode()
    assert viewer.post(f"{page}erase/").status_code == 403
    admin = login(a)
    assert "Erase this contact" in admin.get(page).content.decode()
    assert admin.post(f"{page}erase/").status_code == 302
    record = ContactErasure.objects.get()
    assert (record.contact_id, record.api_key_id, record.api_key_prefix) == (contact.pk, None, "")
    assert admin.get(page).status_code == 404
    assert admin.post(f"{page}erase/").status_code == 404
