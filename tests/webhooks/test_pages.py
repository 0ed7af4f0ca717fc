"""The dashboard's Webhooks pages: admins and owners list, add (secret shown once), replay,
rotate, test, disable and enable, delete; other roles get 403, other accounts 404."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from core.models import Event, Membership, WebhookEndpoint
from tests.conftest import AccountFixture
from tests.reporting.conftest import PASSWORD, logged_in
from tests.webhooks.endpoints import URL, delivery_make, endpoint_make, event_make
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_allowed(settings: Any) -> None:
    # The production rule (tests/webhooks/conftest.py allows private addresses for the
    # receiver on loopback): http and private URLs are refused unless a test allows them.
    settings.WEBHOOK_ALLOW_PRIVATE = False


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def browser(account: AccountFixture, role: str) -> Client:
    user = get_user_model().objects.create_user(f"{role}-{account.account.pk}", password=PASSWORD)
    Membership.objects.create(user=user, account=account.account, role=role)
    return logged_in(user)


@pytest.fixture
def admin(owner: AccountFixture) -> Client:
    return browser(owner, "admin")


def page(account: AccountFixture, path: str = "") -> str:
    return f"/dashboard/{account.account.pk}/webhooks/{path}"


def test_the_list_shows_each_endpoint_its_state_and_a_disabled_ones_notice(
    owner: AccountFixture, admin: Client
) -> None:
    enabled, _ = endpoint_make(owner, description="CRM <b>sync</b>")
    disabled, _ = endpoint_make(owner, url="https://gone.example.com/hook")
    failing = timezone.now() - dt.timedelta(days=3)
    WebhookEndpoint.objects.filter(pk=disabled.pk).update(
        is_enabled=False,
        disabled_at=timezone.now(),
        disabled_reason="The endpoint answered 410 Gone.",
        failing_since=failing,
    )
    delivery_make(enabled, event_make(owner), status="pending", codes=(502,))
    response = admin.get(page(owner))
    assert response.status_code == 200
    html = response.content.decode()
    assert URL in html and "https://gone.example.com/hook" in html
    assert "Disabled:" in html and "The endpoint answered 410 Gone." in html
    assert failing.astimezone(timezone.get_current_timezone()).strftime("%Y-%m-%d") in html
    assert "HTTP 502" in html
    assert "CRM &lt;b&gt;sync&lt;/b&gt;" in html  # escaped
    assert f'href="{page(owner)}"' in html  # the nav link


def test_adding_an_endpoint_shows_its_secret_once(owner: AccountFixture, admin: Client) -> None:
    response = admin.post(
        page(owner),
        {"url": URL, "events": ["message.clicked", "conversion.recorded"], "description": "x"},
    )
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    endpoint = WebhookEndpoint.objects.get(account=owner.account)
    assert endpoint.events == ["message.clicked", "conversion.recorded"]
    secret = re.search(r'<code class="secret">(whsec_[^<]+)</code>', response.content.decode())
    assert secret and endpoint.signing_secrets() == [secret.group(1)]
    # Not on any later page.
    assert secret.group(1) not in admin.get(page(owner, f"{endpoint.pk}/")).content.decode()
    assert secret.group(1) not in admin.get(page(owner)).content.decode()


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"url": "http://hooks.example.com/x", "events": ["message.clicked"]}, "must be https"),
        ({"url": "https://192.168.0.1/x", "events": ["message.clicked"]}, "private"),
        ({"url": URL, "events": ["webhook.test"]}, "events"),
        ({"url": URL}, "events"),
    ],
)
def test_a_bad_endpoint_is_refused_with_the_reason(
    owner: AccountFixture, admin: Client, fields: dict, why: str
) -> None:
    response = admin.post(page(owner), fields)
    assert response.status_code == 400
    assert why in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_the_endpoint_page_shows_its_deliveries_and_their_attempts(
    owner: AccountFixture, admin: Client
) -> None:
    endpoint, _ = endpoint_make(owner)
    delivery = delivery_make(endpoint, event_make(owner), status="pending", codes=(503, None))
    response = admin.get(page(owner, f"{endpoint.pk}/"))
    assert response.status_code == 200
    html = response.content.decode()
    assert delivery.msg_id in html
    assert "503 12 ms" in html and "connection refused 13 ms" in html
    assert "message.clicked" in html


def test_replay_resets_the_deliveries_since_then(owner: AccountFixture, admin: Client) -> None:
    endpoint, _ = endpoint_make(owner)
    delivery = delivery_make(endpoint, event_make(owner), status="failed", codes=(500,) * 3)
    local = (timezone.now() - dt.timedelta(hours=1)).astimezone(
        zoneinfo.ZoneInfo(owner.account.time_zone)
    )
    response = admin.post(
        page(owner, f"{endpoint.pk}/replay/"), {"since": local.strftime("%Y-%m-%dT%H:%M")}
    )
    assert response.status_code == 302
    msg_id = delivery.msg_id
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 0 and delivery.msg_id == msg_id
    followed = admin.get(response["Location"]).content.decode()
    assert "Queued 1 deliveries again" in followed


def test_a_replay_from_the_future_is_refused(owner: AccountFixture, admin: Client) -> None:
    endpoint, _ = endpoint_make(owner)
    response = admin.post(page(owner, f"{endpoint.pk}/replay/"), {"since": "2999-01-01T00:00"})
    assert response.status_code == 400
    assert "future" in response.content.decode()


def test_disable_enable_test_rotate_and_delete(owner: AccountFixture, admin: Client) -> None:
    endpoint, old = endpoint_make(owner)
    base = page(owner, f"{endpoint.pk}/")

    assert admin.post(base + "enable/", {"is_enabled": "false"}).status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and "in the dashboard" in endpoint.disabled_reason
    assert "Nothing is sent until it is enabled again." in admin.get(base).content.decode()
    refused = admin.post(base + "test/", follow=True).content.decode()
    assert "disabled" in refused and not Event.objects.exists()

    assert admin.post(base + "enable/", {"is_enabled": "true"}).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.is_enabled and endpoint.disabled_reason == "" and endpoint.disabled_at is None

    assert admin.post(base + "test/").status_code == 302
    assert Event.objects.get().endpoint_id == endpoint.pk

    rotated = admin.post(base + "rotate/")
    assert rotated.status_code == 200 and rotated["Cache-Control"] == "no-store"
    new = re.search(r'<code class="secret">(whsec_[^<]+)</code>', rotated.content.decode())
    endpoint.refresh_from_db()
    assert new and endpoint.signing_secrets() == [new.group(1), old]

    assert admin.post(base + "delete/").status_code == 302
    assert not WebhookEndpoint.objects.exists()


def test_changing_the_endpoint(owner: AccountFixture, admin: Client) -> None:
    endpoint, _ = endpoint_make(owner)
    response = admin.post(
        page(owner, f"{endpoint.pk}/"),
        {"url": "https://crm.example.com/in", "events": ["contact.audience_entered"]},
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == "https://crm.example.com/in"
    assert endpoint.events == ["contact.audience_entered"]
    bad = admin.post(page(owner, f"{endpoint.pk}/"), {"url": "http://x.example/", "events": []})
    assert bad.status_code == 400


@pytest.mark.parametrize("role", ["viewer", "member"])
def test_other_roles_are_refused_the_pages_and_their_forms(
    owner: AccountFixture, role: str
) -> None:
    endpoint, _ = endpoint_make(owner)
    delivery = delivery_make(endpoint, event_make(owner))
    client = browser(owner, role)
    assert client.get(page(owner)).status_code == 403
    assert client.get(page(owner, f"{endpoint.pk}/")).status_code == 403
    assert client.post(page(owner), {"url": URL, "events": ["message.clicked"]}).status_code == 403
    for action in ("replay/", "rotate/", "test/", "enable/", "delete/"):
        assert client.post(page(owner, f"{endpoint.pk}/{action}"), {}).status_code == 403
    assert (
        f'href="{page(owner)}"'
        not in client.get(f"/dashboard/{owner.account.pk}/").content.decode()
    )
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk, is_enabled=True).exists()
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "delivered"


def test_another_accounts_endpoint_is_a_404(
    owner: AccountFixture, outsider: AccountFixture, admin: Client
) -> None:
    theirs, _ = endpoint_make(outsider)
    # Through the owner's account in the URL: not the owner's endpoint.
    for action in ("", "replay/", "rotate/", "test/", "enable/", "delete/"):
        path = page(owner, f"{theirs.pk}/{action}")
        answer = admin.get(path) if not action else admin.post(path, {"since": "2025-01-01T00:00"})
        assert answer.status_code == 404, action
    # Through the outsider's account: not the admin's account.
    assert admin.get(page(outsider)).status_code == 404
    assert admin.get(page(outsider, f"{theirs.pk}/")).status_code == 404
    assert WebhookEndpoint.objects.filter(pk=theirs.pk, is_enabled=True).exists()
    assert not Event.objects.exists()


def test_anonymous_is_sent_to_log_in(owner: AccountFixture) -> None:
    response = Client(HTTP_HOST="localhost").get(page(owner))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_forms_need_the_csrf_token(owner: AccountFixture) -> None:
    endpoint, _ = endpoint_make(owner)
    user = get_user_model().objects.create_user("csrf", password=PASSWORD)
    Membership.objects.create(user=user, account=owner.account, role="admin")
    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(page(owner, f"{endpoint.pk}/delete/")).status_code == 403
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
