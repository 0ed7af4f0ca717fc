"""The dashboard's sending costs page: every role sees the costs, admins and owners change
them, bad values are a 400 naming the field, other accounts are a 404."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from core.models import Account
from tests.conftest import AccountFixture
from tests.reporting.test_dashboard_roles import ROLES, cast, url  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db
FORM = {"sms_segment_cost": "0.01", "sms_rates": "US 0.0079\ngb=0.035\n\n", "email_cost": "0"}


def page(account: AccountFixture) -> str:
    return url(account, "settings/costs/")


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_costs(
    cast: dict[str, Client],  # noqa: F811
    owner: AccountFixture,
    role: str,
) -> None:
    Account.objects.filter(pk=owner.account.pk).update(
        sms_segment_cost=Decimal("0.0123"), sms_rates={"GB": "0.0350"}
    )
    response = cast[role].get(page(owner))
    assert response.status_code == 200
    body = response.content.decode()
    assert "0.0123" in body and "GB" in body and "0.0350" in body
    assert ('name="sms_rates"' in body) is (role in ("admin", "owner"))
    assert f'href="{page(owner)}"' in cast[role].get(url(owner)).content.decode()


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_admins_and_owners_change_them(
    cast: dict[str, Client],  # noqa: F811
    owner: AccountFixture,
    role: str,
) -> None:
    response = cast[role].post(page(owner), FORM)
    assert response.status_code == 302
    account = Account.objects.get(pk=owner.account.pk)
    assert account.sms_segment_cost == Decimal("0.0100")
    assert account.sms_rates == {"US": "0.0079", "GB": "0.0350"}
    assert "GB 0.0350\nUS 0.0079" in cast[role].get(page(owner)).content.decode()


@pytest.mark.parametrize("role", ["viewer", "member"])
def test_other_roles_cannot_change_them(
    cast: dict[str, Client],  # noqa: F811
    owner: AccountFixture,
    role: str,
) -> None:
    assert cast[role].post(page(owner), FORM).status_code == 403
    assert Account.objects.get(pk=owner.account.pk).sms_rates == {}


@pytest.mark.parametrize(
    "field, value, shown",
    [
        ("sms_segment_cost", "-1", "sms_segment_cost: "),
        ("email_cost", "abc", "email_cost: "),
        ("sms_rates", "XX 0.01", "XX is not a country"),
        ("sms_rates", "US", "write a country and a cost"),
        ("sms_rates", "US -0.5", "sms_rates: "),
    ],
)
def test_a_bad_value_is_a_400_naming_it(
    cast: dict[str, Client],  # noqa: F811
    owner: AccountFixture,
    field: str,
    value: str,
    shown: str,
) -> None:
    response = cast["owner"].post(page(owner), FORM | {field: value})
    assert response.status_code == 400
    assert shown in response.content.decode()
    account = Account.objects.get(pk=owner.account.pk)
    assert (account.sms_segment_cost, account.sms_rates) == (0, {})


def test_another_account_is_404(
    cast: dict[str, Client],  # noqa: F811
    owner: AccountFixture,
) -> None:
    assert cast["outsider"].get(page(owner)).status_code == 404
    assert cast["outsider"].post(page(owner), FORM).status_code == 404
    assert Account.objects.get(pk=owner.account.pk).sms_rates == {}
