"""The admin of webhook endpoints (never a secret, not even sealed; no adding: the secret
is shown once in the dashboard or the API) and of the read-only delivery log, both scoped
to the staff user's accounts."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from core.models import Membership, WebhookEndpoint
from tests.conftest import AccountFixture
from tests.webhooks.endpoints import delivery_make, endpoint_make, event_make

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def admin_browser(**flags: Any) -> tuple[Any, Client]:
    user = get_user_model().objects.create_user("staff", password="a-long-pw-1", **flags)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label__in=["core", "webhooks"])
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return user, client


def test_the_endpoint_page_never_shows_a_secret(owner: AccountFixture) -> None:
    endpoint, secret = endpoint_make(owner)
    _, client = admin_browser(is_staff=True, is_superuser=True)
    html = client.get(f"/admin/core/webhookendpoint/{endpoint.pk}/change/").content.decode()
    assert endpoint.url in html
    assert secret not in html and endpoint.secret_sealed not in html
    assert "secret_sealed" not in html
    assert client.get("/admin/core/webhookendpoint/add/").status_code == 403


def test_staff_see_only_their_accounts_endpoints_and_deliveries(
    owner: AccountFixture, outsider: AccountFixture
) -> None:
    mine, _ = endpoint_make(owner, url="https://mine.example.com/hook")
    theirs, _ = endpoint_make(outsider, url="https://theirs.example.com/hook")
    my_delivery = delivery_make(mine, event_make(owner))
    their_delivery = delivery_make(theirs, event_make(outsider))
    user, client = admin_browser(is_staff=True)
    Membership.objects.create(user=user, account=owner.account, role="admin")

    endpoints = client.get("/admin/core/webhookendpoint/").content.decode()
    assert "mine.example.com" in endpoints and "theirs.example.com" not in endpoints
    assert client.get(f"/admin/core/webhookendpoint/{theirs.pk}/change/").status_code == 302
    deliveries = client.get("/admin/webhooks/webhookdelivery/").content.decode()
    assert my_delivery.msg_id in deliveries and their_delivery.msg_id not in deliveries
    shown = client.get(f"/admin/webhooks/webhookdelivery/{my_delivery.pk}/change/")
    assert shown.status_code == 200 and "12" in shown.content.decode()  # the attempt's latency
    hidden = client.get(f"/admin/webhooks/webhookdelivery/{their_delivery.pk}/change/")
    assert hidden.status_code == 302  # "doesn't exist", back to the admin index


def test_only_the_description_changes_in_the_admin(owner: AccountFixture) -> None:
    endpoint, _ = endpoint_make(owner)
    _, client = admin_browser(is_staff=True, is_superuser=True)
    response = client.post(
        f"/admin/core/webhookendpoint/{endpoint.pk}/change/",
        {"description": "From the admin", "url": "http://127.0.0.1/", "is_enabled": ""},
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert endpoint.description == "From the admin"
    assert endpoint.url.startswith("https://") and endpoint.is_enabled
