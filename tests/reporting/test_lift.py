"""The holdout lift report (reporting.lift, GET /api/v1/reports/lift): the groups, the
window, and the statistics on cases worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from attribution.models import Conversion
from core.models import Campaign, Contact, Offer
from reporting.lift import Group, lift_figures
from tests.conftest import AccountFixture
from tests.core.test_api_account import keyed
from tests.helpers import make_offer

pytestmark = pytest.mark.django_db
START = timezone.now().replace(microsecond=0) - dt.timedelta(days=20)


def items(prefix: str, n: int, offer: Offer, *, holdout: bool, campaign: str = "Spring") -> list:
    return [
        {
            "contact": {"external_id": f"{prefix}{i}"},
            "body": "Sale {{l}}",
            "links": {"l": {"offer": offer.pk}},
            "campaign": campaign,
            "sent_at": START.isoformat(),
            "holdout": holdout,
        }
        for i in range(n)
    ]


def mint(account: AccountFixture, batch: list) -> None:
    response = account.post("/api/v1/messages/bulk", batch)
    assert response.status_code == 201, response.content


def convert(
    account: AccountFixture,
    contact: str,
    offer: Offer,
    after: dt.timedelta,
    revenue: str = "10",
    approval: str = Conversion.Approval.APPROVED,
) -> Conversion:
    return Conversion.objects.create(
        account=account.account,
        contact=Contact.objects.get(account=account.account, external_id=contact),
        offer=offer,
        revenue=Decimal(revenue),
        payout=Decimal(revenue),
        currency="USD",
        occurred_at=START + after,
        approval=approval,
    )


def lift(account: AccountFixture, campaign: str = "Spring") -> dict[str, Any]:
    pk = Campaign.objects.get(account=account.account, name=campaign).pk
    response = account.get("/api/v1/reports/lift", campaign=pk)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_thousand_treated_and_five_hundred_held_out(owner: AccountFixture) -> None:
    offer = make_offer(owner)
    mint(owner, items("t", 1000, offer, holdout=False))
    mint(owner, items("h", 500, offer, holdout=True))
    for i in range(60):
        convert(owner, f"t{i}", offer, dt.timedelta(days=1))
    for i in range(20):
        convert(owner, f"h{i}", offer, dt.timedelta(days=1))
    # By hand:
    # treated: 1000 contacts, 60 converted: p_t = 0.06, revenue 600 -> 0.60 a contact
    # holdout:  500 contacts, 20 converted: p_h = 0.04, revenue 200 -> 0.40 a contact
    # absolute = 0.06 - 0.04 = 0.02; relative = 0.06 / 0.04 - 1 = 0.5
    # Wald: se = sqrt(0.06*0.94/1000 + 0.04*0.96/500) = sqrt(0.0000564 + 0.0000768)
    #          = sqrt(0.0001332) = 0.0115412; 1.96 * se = 0.0226208
    #       -> [0.02 - 0.0226208, 0.02 + 0.0226208] = [-0.0026, 0.0426]
    # Katz: se = sqrt(1/60 - 1/1000 + 1/20 - 1/500) = sqrt(0.0636667) = 0.2523225;
    #       1.96 * se = 0.4945522; ln 1.5 = 0.4054651
    #       -> exp(0.4054651 - 0.4945522) - 1 = exp(-0.0890871) - 1 = -0.0852
    #          exp(0.4054651 + 0.4945522) - 1 = exp(0.9000173) - 1 = 1.4596
    # incremental conversions = 0.02 * 1000 = 20; revenue = (0.60 - 0.40) * 1000 = 200
    assert lift(owner) == {
        "treated": {
            "contacts": 1000,
            "conversions": 60,
            "conversion_rate": "0.0600",
            "revenue_per_contact": "0.60",
        },
        "holdout": {
            "contacts": 500,
            "conversions": 20,
            "conversion_rate": "0.0400",
            "revenue_per_contact": "0.40",
        },
        "lift": {
            "absolute": "0.0200",
            "relative": "0.5000",
            "absolute_ci95": ["-0.0026", "0.0426"],
            "relative_ci95": ["-0.0852", "1.4596"],
        },
        "incremental_conversions": "20.00",
        "incremental_revenue": "200.00",
    }


def test_only_approved_conversions_in_the_window_on_the_campaigns_offers_count(
    owner: AccountFixture,
) -> None:
    offer = make_offer(owner, click_window_days=7)
    other_offer = make_offer(owner, name="Other")
    mint(owner, items("t", 5, offer, holdout=False))  # t0..t4
    mint(owner, items("h", 2, offer, holdout=True))  # h0, h1
    mint(owner, items("x", 1, other_offer, holdout=False, campaign="Other"))
    # A contact held out and then sent the campaign after all is treated (t4 is both).
    held_then_sent = items("t", 5, offer, holdout=True)[4:]
    mint(owner, held_then_sent)
    tester = items("tester", 1, offer, holdout=False)
    tester[0]["contact"]["is_test"] = True
    mint(owner, tester)
    convert(owner, "tester0", offer, dt.timedelta(days=1))  # a tester: in neither group
    convert(owner, "t0", offer, dt.timedelta(days=6), "5")  # counts
    convert(owner, "t0", offer, dt.timedelta(days=2), "7")  # counts, the same contact
    convert(owner, "t1", offer, dt.timedelta(days=8))  # after the offer's 7-day window
    convert(owner, "t2", other_offer, dt.timedelta(days=1))  # another campaign's offer
    convert(owner, "t3", offer, dt.timedelta(days=1), approval="rejected")
    convert(owner, "h0", offer, dt.timedelta(days=1))  # counts
    convert(owner, "h1", offer, -dt.timedelta(hours=1))  # before its start
    # By hand:
    # treated: t0..t4 = 5 contacts, 1 converted (t0, revenue 5 + 7 = 12): rate 0.2, 2.40
    # holdout: h0, h1 = 2 contacts, 1 converted (h0, revenue 10): rate 0.5, 5.00
    # absolute = -0.3; relative = 0.2 / 0.5 - 1 = -0.6
    # Wald: 1.96 * sqrt(0.2*0.8/5 + 0.5*0.5/2) = 1.96 * sqrt(0.157) = 0.7766152
    #       -> [-1.0766, 0.4766]
    # Katz: 1.96 * sqrt(1/1 - 1/5 + 1/1 - 1/2) = 1.96 * sqrt(1.3) = 2.2347427; ln 0.4 = -0.9162907
    #       -> exp(-3.1510334) - 1 = -0.9572, exp(1.3184520) - 1 = 2.7376
    # incremental conversions = -0.3 * 5 = -1.5; revenue = (2.40 - 5.00) * 5 = -13.00
    assert lift(owner) == {
        "treated": {
            "contacts": 5,
            "conversions": 1,
            "conversion_rate": "0.2000",
            "revenue_per_contact": "2.40",
        },
        "holdout": {
            "contacts": 2,
            "conversions": 1,
            "conversion_rate": "0.5000",
            "revenue_per_contact": "5.00",
        },
        "lift": {
            "absolute": "-0.3000",
            "relative": "-0.6000",
            "absolute_ci95": ["-1.0766", "0.4766"],
            "relative_ci95": ["-0.9572", "2.7376"],
        },
        "incremental_conversions": "-1.50",
        "incremental_revenue": "-13.00",
    }


def test_the_accounts_window_applies_when_the_offer_has_none(owner: AccountFixture) -> None:
    owner.account.default_click_window_days = 3
    owner.account.save(update_fields=["default_click_window_days"])
    offer = make_offer(owner)
    mint(owner, items("t", 2, offer, holdout=False))
    convert(owner, "t0", offer, dt.timedelta(days=2))
    convert(owner, "t1", offer, dt.timedelta(days=4))
    assert lift(owner)["treated"]["conversions"] == 1


def test_without_a_holdout_the_comparisons_are_null(owner: AccountFixture) -> None:
    offer = make_offer(owner)
    mint(owner, items("t", 3, offer, holdout=False))
    body = lift(owner)
    assert body["holdout"] == {
        "contacts": 0,
        "conversions": 0,
        "conversion_rate": None,
        "revenue_per_contact": None,
    }
    assert body["lift"] == {
        "absolute": None,
        "relative": None,
        "absolute_ci95": [None, None],
        "relative_ci95": [None, None],
    }
    assert body["incremental_conversions"] is None and body["incremental_revenue"] is None


def test_a_group_without_conversions_has_no_ratio_interval() -> None:
    # treated 100, 5 converted; holdout 50, none: the ratio 0.05 / 0 is undefined (no relative
    # lift, no Katz interval); the difference is 0.05 with Wald
    # 1.96 * sqrt(0.05*0.95/100 + 0) = 1.96 * 0.0217945 = 0.0427172 -> [0.0073, 0.0927]
    figures = lift_figures(Group(100, 5, Decimal(50)), Group(50, 0, Decimal(0)))
    assert figures["lift"] == {
        "absolute": "0.0500",
        "relative": None,
        "absolute_ci95": ["0.0073", "0.0927"],
        "relative_ci95": [None, None],
    }
    assert figures["incremental_conversions"] == "5.00"
    assert figures["incremental_revenue"] == "50.00"  # (0.50 - 0) * 100


class TestApi:
    def test_the_campaign_is_required(self, owner: AccountFixture) -> None:
        for params in ({}, {"campaign": "abc"}, {"campaign": "-1"}):
            response = owner.get("/api/v1/reports/lift", **params)
            assert response.status_code == 400
            assert list(response.json()["errors"]) == ["campaign"]

    def test_an_unknown_parameter_is_refused(self, owner: AccountFixture) -> None:
        campaign = Campaign.objects.create(account=owner.account, name="C")
        response = owner.get("/api/v1/reports/lift", campaign=campaign.pk, start="2026-01-01")
        assert response.status_code == 400 and list(response.json()["errors"]) == ["start"]

    def test_another_accounts_campaign_is_404(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        offer = make_offer(owner)
        mint(owner, items("t", 2, offer, holdout=False))
        pk = Campaign.objects.get(account=owner.account).pk
        response = outsider.get("/api/v1/reports/lift", campaign=pk)
        assert response.status_code == 404
        assert list(response.json()["errors"]) == ["campaign"]

    def test_another_accounts_conversions_never_count(
        self, owner: AccountFixture, outsider: AccountFixture
    ) -> None:
        offer = make_offer(owner)
        mint(owner, items("t", 2, offer, holdout=False))
        theirs = make_offer(outsider)
        mint(outsider, items("t", 2, theirs, holdout=False))
        convert(outsider, "t0", theirs, dt.timedelta(days=1))
        assert lift(owner)["treated"]["conversions"] == 0
        assert lift(outsider)["treated"]["conversions"] == 1

    def test_it_needs_a_read_key(self, owner: AccountFixture) -> None:
        campaign = Campaign.objects.create(account=owner.account, name="C")
        path = f"/api/v1/reports/lift?campaign={campaign.pk}"
        assert keyed(owner, ["mint"]).get(path).status_code == 403
        assert keyed(owner, ["read"]).get(path).status_code == 200
