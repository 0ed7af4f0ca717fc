"""Sending costs in the account admin ("Sending costs"), and holdouts read-only in admin."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from core.models import Account, HoldoutMessage
from tests.core.test_admin import admin_client, form_defaults  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def bare() -> Account:
    """An account with no domains, keys or members: its change form has no inline rows."""
    return Account.objects.create(name="Bare Co", require_postback_token=False)


def change(client: Client, account: Account, **fields: str) -> Any:
    url = f"/admin/core/account/{account.pk}/change/"
    page = client.get(url).content.decode()
    assert "Sending costs" in page
    data = form_defaults(page) | {
        "name": account.name, "is_active": "on", "time_zone": "UTC", "currency": "USD",
        "default_click_window_days": "90", "bot_ip_fanout_contacts": "5",
        "bot_ip_fanout_seconds": "60", "data_retention_days": "395",
        "sms_segment_cost": "0", "sms_rates": "{}",
        "email_cost": "0",
    } | fields  # fmt: skip
    return client.post(url, data)


def test_the_costs_are_set_in_admin(admin_client: Client, bare: Account) -> None:  # noqa: F811
    response = change(
        admin_client,
        bare,
        sms_segment_cost="0.0100",
        sms_rates='{"GB": "0.035"}',
        email_cost="0.002",
    )
    assert response.status_code == 302
    account = Account.objects.get(pk=bare.pk)
    assert account.sms_segment_cost == Decimal("0.0100")
    assert account.sms_rates == {"GB": "0.0350"}
    assert account.email_cost == Decimal("0.0020")


@pytest.mark.parametrize(
    "fields, shown",
    [
        ({"sms_rates": '{"XX": "0.01"}'}, b"XX is not a country"),
        ({"sms_rates": '{"US": "-1"}'}, b"is not a non-negative decimal"),
        ({"sms_rates": '["US"]'}, b"Must be an object"),
        ({"sms_segment_cost": "-0.01"}, b"greater than or equal to 0"),
    ],
)
def test_bad_costs_are_refused_in_admin(
    admin_client: Client,  # noqa: F811
    bare: Account,
    fields: dict[str, str],
    shown: bytes,
) -> None:
    response = change(admin_client, bare, **fields)
    assert response.status_code == 200 and shown in response.content
    account = Account.objects.get(pk=bare.pk)
    assert (account.sms_segment_cost, account.sms_rates) == (0, {})


def test_holdouts_are_listed_but_not_changed(admin_client: Client, owner: Any) -> None:  # noqa: F811
    owner.post(
        "/api/v1/messages",
        {"contact": {"external_id": "h"}, "body": "x", "holdout": True, "external_id": "hx"},
    )
    holdout = HoldoutMessage.objects.get()
    assert b"hx" in admin_client.get("/admin/core/holdoutmessage/").content
    assert admin_client.get("/admin/core/holdoutmessage/add/").status_code == 403
    page = admin_client.get(f"/admin/core/holdoutmessage/{holdout.pk}/change/")
    assert page.status_code == 200 and b'name="external_id"' not in page.content
