"""Django admin for accounts and offers (core/admin/): postback tokens shown once,
the token requirement, offers' revenue cap."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client

from core.models import Account, Offer

pytestmark = pytest.mark.django_db
TOKEN = re.compile(r"pbt_[A-Za-z0-9_-]+")


@pytest.fixture
def admin_client(settings: Any) -> Client:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-1")
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def form_defaults(page: str) -> dict[str, str]:
    """The add page's inline management forms, as a browser would send them back."""
    return dict(re.findall(r'name="([\w-]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)"'
                           r'[^>]*value="(\d*)"', page))  # fmt: skip


def shown_token(response: Any) -> str:
    [message] = [str(m) for m in get_messages(response.wsgi_request) if "pbt_" in str(m)]
    assert "not shown again" in message
    return TOKEN.search(message).group(0)


def test_an_account_made_in_admin_gets_a_postback_token_shown_once(admin_client: Client) -> None:
    page = admin_client.get("/admin/core/account/add/").content.decode()
    assert 'name="require_postback_token"' in page
    data = form_defaults(page) | {
        "name": "Admin Co", "is_active": "on", "time_zone": "UTC", "currency": "USD",
        "default_click_window_days": "90", "opt_out_patterns": "*stop*",
        "require_postback_token": "on", "bot_ip_fanout_contacts": "5",
        "bot_ip_fanout_seconds": "60", "data_retention_days": "395",
        "sms_segment_cost": "0", "sms_rates": "{}", "email_cost": "0",
    }  # fmt: skip
    response = admin_client.post("/admin/core/account/add/", data, follow=True)
    assert response.status_code == 200
    account = Account.objects.get(name="Admin Co")
    token = shown_token(response)
    assert account.require_postback_token and account.postback_token_matches(token)
    assert token not in str(Account.objects.filter(pk=account.pk).values().get())


def test_the_rotate_action_shows_a_new_token_and_the_old_one_stops(
    admin_client: Client, owner: Any
) -> None:
    response = admin_client.post(
        "/admin/core/account/",
        {"action": "rotate_postback_token", "_selected_action": [owner.account.pk]},
        follow=True,
    )
    token = shown_token(response)
    account = Account.objects.get(pk=owner.account.pk)
    assert account.postback_token_matches(token)
    assert not account.postback_token_matches(owner.postback_token)


def test_too_many_opt_out_patterns_are_refused_in_admin_too(
    admin_client: Client, owner: Any
) -> None:
    url = f"/admin/core/account/{owner.account.pk}/change/"
    page = admin_client.get(url).content.decode()
    data = form_defaults(page) | {
        "name": "Owner Co", "is_active": "on", "time_zone": "UTC", "currency": "USD",
        "default_click_window_days": "90", "bot_ip_fanout_contacts": "5",
        "bot_ip_fanout_seconds": "60", "data_retention_days": "395",
        "opt_out_patterns": "\n".join(f"*p{n}*" for n in range(101)),
    }  # fmt: skip
    response = admin_client.post(url, data)
    assert response.status_code == 200 and b"At most 100 patterns" in response.content
    assert Account.objects.get(pk=owner.account.pk).opt_out_patterns != data["opt_out_patterns"]


def test_an_offers_revenue_cap_is_set_in_admin(admin_client: Client, owner: Any) -> None:
    offer = Offer(account=owner.account, name="O", destination_url="https://a.example/")
    offer.rotate_postback_secret()
    offer.save()
    url = f"/admin/core/offer/{offer.pk}/change/"
    assert 'name="revenue_cap"' in admin_client.get(url).content.decode()
    data = {
        "account": str(owner.account.pk), "name": "O", "status": "active",
        "destination_url": "https://a.example/", "click_param": "click_id",
        "interstitial_mode": "none", "default_payout": "0", "revenue_cap": "75.50",
    }  # fmt: skip
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content[:2000]
    assert Offer.objects.get(pk=offer.pk).revenue_cap == Decimal("75.50")


def test_the_token_cannot_be_required_in_admin_before_one_exists(
    admin_client: Client, owner: Any
) -> None:
    Account.objects.filter(pk=owner.account.pk).update(
        postback_token_hash="", require_postback_token=False
    )  # as an account made before postback tokens
    url = f"/admin/core/account/{owner.account.pk}/change/"
    data = form_defaults(admin_client.get(url).content.decode()) | {
        "name": "Owner Co", "is_active": "on", "time_zone": "UTC", "currency": "USD",
        "default_click_window_days": "90", "bot_ip_fanout_contacts": "5",
        "bot_ip_fanout_seconds": "60", "data_retention_days": "395",
        "require_postback_token": "on",
    }  # fmt: skip
    response = admin_client.post(url, data)
    assert response.status_code == 200 and b"no postback token yet" in response.content
    assert Account.objects.get(pk=owner.account.pk).require_postback_token is False


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("/admin/trackly/", "/admin/core/"),
        ("/admin/trackly/offer/", "/admin/core/offer/"),
        ("/admin/trackly/account/7/change/?x=1", "/admin/core/account/7/change/?x=1"),
        ("/admin/links/trackingdomain/add/", "/admin/core/trackingdomain/add/"),
        ("/admin/links/interstitialtemplate/", "/admin/core/interstitialtemplate/"),
    ],
)
def test_the_admin_pages_old_addresses_redirect_to_the_core_app(
    admin_client: Client, old: str, new: str
) -> None:
    response = admin_client.get(old)
    assert (response.status_code, response["Location"]) == (301, new)


def test_the_admin_pages_of_links_own_models_stay_where_they_are(admin_client: Client) -> None:
    assert admin_client.get("/admin/links/messageshortlink/").status_code == 200
    assert admin_client.get("/admin/core/offer/").status_code == 200
