"""The dashboard's Reconciliation pages: every member reads the list and a reconciliation's
buckets (escaped), its disputes CSV; the config role uploads and restates (confirmed);
other roles get a 403, other accounts a 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from attribution.models import Conversion, Reconciliation
from core.models import Membership
from tests.attribution.test_reconciliation import days, tune_file, world_build

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def browser(account: Any, role: str) -> Client:
    user = get_user_model().objects.create_user(f"{role}{account.account.pk}", password="pw-long-1")
    Membership.objects.create(user=user, account=account.account, role=role)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def base(account: Any) -> str:
    return f"/dashboard/{account.account.pk}/reconciliations/"


def upload(client: Client, account: Any, world: Any, body: str) -> Any:
    return client.post(
        f"{base(account)}new/",
        {
            "preset": "tune",
            "offers": [world.offer.pk],
            **days(world, account),
            "file": SimpleUploadedFile("tune <export>.csv", body.encode(), "text/csv"),
            "map": "",
        },
    )


def test_an_admin_uploads_reads_the_buckets_and_restates(owner: Any) -> None:
    world = world_build(owner)
    admin = browser(owner, Membership.Role.ADMIN)
    page = admin.get(base(owner)).content.decode()
    assert "Compare a network" in page and 'aria-current="page">Reconciliation<' in page

    response = upload(admin, owner, world, tune_file(world))
    reconciliation = Reconciliation.objects.get(account=owner.account)
    assert response.status_code == 302
    assert response["Location"] == f"{base(owner)}{reconciliation.pk}/"
    detail = admin.get(response["Location"]).content.decode()
    assert "Amount differs (1)" in detail and "Missing in Trackly (1)" in detail
    assert "T-amount" in detail and "Download disputes CSV" in detail
    assert "tune &lt;export&gt;.csv" in detail  # the file's name, escaped
    csv_response = admin.get(f"{base(owner)}{reconciliation.pk}/disputes.csv")
    assert b"T-missing" in csv_response.content

    restate = f"{base(owner)}{reconciliation.pk}/restate/"
    admin.post(restate)  # not confirmed: nothing changes
    assert not Conversion.objects.filter(txn_id="T-missing").exists()
    done = admin.post(restate, {"confirm": "1"}, follow=True).content.decode()
    assert "1 created" in done and "2 adjusted" in done
    assert Conversion.objects.filter(txn_id="T-missing").exists()


def test_a_bad_file_is_shown_on_the_form(owner: Any) -> None:
    world = world_build(owner)
    admin = browser(owner, Membership.Role.ADMIN)
    response = upload(admin, owner, world, tune_file(world).replace("Status", "State", 1))
    assert response.status_code == 400 and "Status" in response.content.decode()
    assert not Reconciliation.objects.exists()


def test_a_viewer_reads_but_neither_uploads_nor_restates(owner: Any) -> None:
    world = world_build(owner)
    upload(browser(owner, Membership.Role.ADMIN), owner, world, tune_file(world))
    reconciliation = Reconciliation.objects.get()
    viewer = browser(owner, Membership.Role.VIEWER)
    page = viewer.get(base(owner)).content.decode()
    assert "Compare a network" not in page and f">{reconciliation.pk}<" in page
    detail = viewer.get(f"{base(owner)}{reconciliation.pk}/")
    assert detail.status_code == 200 and b"restate/" not in detail.content
    assert upload(viewer, owner, world, tune_file(world)).status_code == 403
    restate = viewer.post(f"{base(owner)}{reconciliation.pk}/restate/", {"confirm": "1"})
    assert restate.status_code == 403 and Reconciliation.objects.get().restated_at is None


def test_another_accounts_reconciliation_is_a_404(owner: Any, outsider: Any) -> None:
    world = world_build(owner)
    upload(browser(owner, Membership.Role.ADMIN), owner, world, tune_file(world))
    reconciliation = Reconciliation.objects.get()
    stranger = browser(outsider, Membership.Role.ADMIN)
    for path in ("", "disputes.csv"):
        url = f"/dashboard/{outsider.account.pk}/reconciliations/{reconciliation.pk}/{path}"
        assert stranger.get(url).status_code == 404
        assert stranger.get(f"{base(owner)}{reconciliation.pk}/{path}").status_code == 404
    restate = f"/dashboard/{outsider.account.pk}/reconciliations/{reconciliation.pk}/restate/"
    assert stranger.post(restate, {"confirm": "1"}).status_code == 404
