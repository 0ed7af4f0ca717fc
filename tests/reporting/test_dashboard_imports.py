"""The dashboard's conversion import pages: upload runs a dry run, its page shows the counts
and rejected rows, "commit" runs the real import; config roles only, CSRF, other accounts
404."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from attribution.models import Conversion, ConversionImport
from tests.helpers import make_offer
from tests.reporting.conftest import logged_in
from tests.reporting.test_dashboard_roles import with_role

pytestmark = pytest.mark.django_db


def url(account: Any, path: str) -> str:
    return f"/dashboard/{account.account.pk}/conversions/{path}"


def upload(client: Client, account: Any, text: str) -> Any:
    csv = SimpleUploadedFile("network.csv", text.encode(), content_type="text/csv")
    return client.post(url(account, "import/"), {"file": csv})


def test_an_upload_is_a_dry_run_then_commit_imports_it(
    owner: Any, django_capture_on_commit_callbacks: Any
) -> None:
    admin = logged_in(with_role(owner, "boss", "admin"))
    offer = make_offer(owner)
    page = admin.get(url(owner, "import/"))
    assert page.status_code == 200 and b'type="file"' in page.content
    text = f"txn_id,offer,revenue\nW1,{offer.pk},5\nW2,{offer.pk},-3\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(admin, owner, text)
    dry = ConversionImport.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"imports/{dry.pk}/")
    assert dry.dry_run and dry.status == "done" and not Conversion.objects.exists()
    page = admin.get(url(owner, f"imports/{dry.pk}/")).content.decode()
    assert 'data-fact="created">1<' in page and 'data-fact="rejected">1<' in page
    assert "revenue: &#x27;-3&#x27; is not a non-negative decimal" in page  # escaped
    assert "Commit" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(url(owner, f"imports/{dry.pk}/commit/"))
    real = ConversionImport.objects.get(dry_run=False)
    assert response["Location"].endswith(f"imports/{real.pk}/")
    assert real.status == "done" and real.created == 1 and real.actor == "user boss"
    assert list(Conversion.objects.values_list("txn_id", flat=True)) == ["W1"]
    again = admin.post(url(owner, f"imports/{dry.pk}/commit/"))  # pressed twice
    assert again.status_code == 302 and ConversionImport.objects.count() == 2
    assert "Commit" not in admin.get(url(owner, f"imports/{dry.pk}/")).content.decode()


def test_a_running_import_page_refreshes_and_a_bad_file_is_a_400(owner: Any) -> None:
    admin = logged_in(with_role(owner, "boss", "owner"))
    response = upload(admin, owner, "txn_id\nQ1\n")  # not on commit: stays queued
    job = ConversionImport.objects.get()
    page = admin.get(url(owner, f"imports/{job.pk}/")).content.decode()
    assert job.status == "queued" and 'http-equiv="refresh"' in page
    bad = upload(admin, owner, "colour\nred\n")
    assert bad.status_code == 400 and "unknown column" in bad.content.decode()
    assert response.status_code == 302


@pytest.mark.parametrize("role", ["viewer", "member"])
def test_read_only_roles_are_refused(owner: Any, role: str) -> None:
    client = logged_in(with_role(owner, role, role))
    assert client.get(url(owner, "import/")).status_code == 403
    assert upload(client, owner, "txn_id\nQ1\n").status_code == 403
    assert not ConversionImport.objects.exists()
    assert b"conversions/import/" not in client.get(f"/dashboard/{owner.account.pk}/").content


def test_another_accounts_import_is_a_404_and_csrf_is_required(owner: Any, outsider: Any) -> None:
    job = ConversionImport.objects.create(account=owner.account, dry_run=True, body="txn_id\n")
    stranger = logged_in(with_role(outsider, "stranger", "owner"))
    assert stranger.get(f"/dashboard/{owner.account.pk}/conversions/import/").status_code == 404
    own_path = f"/dashboard/{outsider.account.pk}/conversions/imports/{job.pk}/"
    assert stranger.get(own_path).status_code == 404
    assert stranger.post(own_path + "commit/").status_code == 404
    strict = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    strict.force_login(with_role(owner, "boss", "admin"))
    assert upload(strict, owner, "txn_id\nQ1\n").status_code == 403
    assert ConversionImport.objects.count() == 1
