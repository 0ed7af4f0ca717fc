"""The dashboard's campaign page: the campaign's figures and its lift panel, 404 for
another account's campaign."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.test import Client

from core.models import Campaign
from tests.conftest import AccountFixture
from tests.helpers import make_offer
from tests.reporting.conftest import logged_in, member
from tests.reporting.test_lift import convert, items, mint

pytestmark = pytest.mark.django_db


def test_it_shows_the_campaigns_figures_and_its_lift(owner: AccountFixture) -> None:
    offer = make_offer(owner)
    mint(owner, items("t", 4, offer, holdout=False))
    mint(owner, items("h", 4, offer, holdout=True))
    mint(owner, items("o", 3, offer, holdout=False, campaign="Other"))
    convert(owner, "t0", offer, dt.timedelta(days=1))
    convert(owner, "t1", offer, dt.timedelta(days=1))
    convert(owner, "h0", offer, dt.timedelta(days=1))
    campaign = Campaign.objects.get(name="Spring")
    client = logged_in(member(owner, "ann"))
    call_command("build_rollups", stdout=io.StringIO())
    response = client.get(f"/dashboard/{owner.account.pk}/campaigns/{campaign.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Campaign: Spring" in body
    # Sends of this campaign only (4, not the Other campaign's 3): the figures are filtered.
    assert 'data-metric="sends"' in body
    sends = body.split('data-metric="sends"')[1].split("figure-value")[1]
    assert 'data-value="4"' in sends
    # Treated 2 of 4 (50.00%), held out 1 of 4 (25.00%): +25 points, x2 (relative +100%).
    assert "50.00%" in body and "25.00%" in body and "100.00%" in body
    assert "95% interval" in body and "includes zero" in body
    assert f"campaign={campaign.pk}" in body  # its messages


def test_without_a_holdout_it_says_how_to_send_one(owner: AccountFixture) -> None:
    offer = make_offer(owner)
    mint(owner, items("t", 2, offer, holdout=False))
    campaign = Campaign.objects.get(name="Spring")
    body = (
        logged_in(member(owner, "ann"))
        .get(f"/dashboard/{owner.account.pk}/campaigns/{campaign.pk}/")
        .content.decode()
    )
    assert "No holdout group" in body and '"holdout": true' in body


def test_another_accounts_campaign_is_404(owner: AccountFixture, outsider: AccountFixture) -> None:
    theirs = Campaign.objects.create(account=outsider.account, name="Theirs")
    client: Client = logged_in(member(owner, "ann"))
    assert client.get(f"/dashboard/{owner.account.pk}/campaigns/{theirs.pk}/").status_code == 404
    assert client.get(f"/dashboard/{outsider.account.pk}/campaigns/{theirs.pk}/").status_code == 404
