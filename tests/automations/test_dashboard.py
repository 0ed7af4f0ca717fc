"""The dashboard's Automations pages: every member reads them (trigger and action in words,
counts, recent runs with the reasons for skips); admins and owners enable and disable;
other accounts are a 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from automations.models import Automation
from automations.runner import runs_due
from automations.triggers import automations_consume
from core.models import Campaign, Membership
from tests.automations.facts import (
    after,
    automation,
    clicked_event,
    clicked_now,
    endpoint,
    judged_bot,
    sent,
)

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


def page(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.fixture
def fired(owner: Any) -> Automation:
    campaign = Campaign.objects.create(account=owner.account, name="Spring")
    auto = automation(
        owner,
        {"event": "message.clicked", "campaign": campaign.pk, "link": "link1"},
        {"type": "label", "add": "vip"},
        name="VIP <b>now</b>",
        delay_seconds=120,
    )
    clicked_event(clicked_now(sent(owner, campaign="Spring")))
    bot = clicked_now(sent(owner, campaign="Spring"))
    clicked_event(bot)
    automations_consume()
    judged_bot(bot)
    runs_due(now=after(120))
    return auto


def test_members_see_the_list_and_an_automations_runs(owner, fired):
    viewer = browser(owner, "viewer")
    listing = page(viewer, f"/dashboard/{owner.account.pk}/")
    assert f"/dashboard/{owner.account.pk}/automations/" in listing  # the nav link
    listing = page(viewer, f"/dashboard/{owner.account.pk}/automations/")
    assert "VIP &lt;b&gt;now&lt;/b&gt;" in listing and "<b>now</b>" not in listing
    assert "A counted click on link1 in campaign Spring" in listing
    assert "Add the label vip" in listing and "after 2 minutes" in listing
    assert '<td data-fact="fired_count">1</td>' in listing

    detail = page(viewer, f"/dashboard/{owner.account.pk}/automations/{fired.pk}/")
    assert "No counted click any more (judged a bot, or revoked)." in detail
    assert '<dd data-fact="fired_count">1</dd>' in detail
    assert '<dd data-fact="skipped_count">1</dd>' in detail
    assert "Disable" not in detail  # a viewer cannot switch it


def test_a_webhook_action_in_words(owner):
    hook = endpoint(owner)
    automation(
        owner,
        {"event": "conversion.recorded"},
        {"type": "webhook", "webhook": hook.pk, "journey": "winback"},
        delay_seconds=0,
    )
    listing = page(browser(owner, "member"), f"/dashboard/{owner.account.pk}/automations/")
    assert "An approved conversion" in listing
    assert f"Send journey winback to webhook {hook.url}" in listing and "at once" in listing


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_admins_disable_and_enable(owner, fired, role):
    client = browser(owner, role)
    path = f"/dashboard/{owner.account.pk}/automations/{fired.pk}/"
    assert "Disable" in page(client, path)
    response = client.post(f"{path}enabled/", {"enabled": "0"})
    assert response.status_code == 302
    fired.refresh_from_db()
    assert fired.is_enabled is False
    assert '<dd data-fact="state">disabled</dd>' in page(client, path)
    client.post(f"{path}enabled/", {"enabled": "1"})
    fired.refresh_from_db()
    assert fired.is_enabled is True


@pytest.mark.parametrize("role", ["viewer", "member"])
def test_other_roles_cannot_switch_one(owner, fired, role):
    response = browser(owner, role).post(
        f"/dashboard/{owner.account.pk}/automations/{fired.pk}/enabled/", {"enabled": "0"}
    )
    assert response.status_code == 403
    fired.refresh_from_db()
    assert fired.is_enabled is True


def test_another_account_is_a_404(owner, outsider, fired):
    stranger = browser(outsider, "owner")
    base = f"/dashboard/{owner.account.pk}/automations/"
    assert stranger.get(base).status_code == 404
    assert stranger.get(f"{base}{fired.pk}/").status_code == 404
    assert stranger.post(f"{base}{fired.pk}/enabled/", {"enabled": "0"}).status_code == 404
    # Their own account's URL with this automation's id: 404 too.
    theirs = f"/dashboard/{outsider.account.pk}/automations/{fired.pk}/"
    assert stranger.get(theirs).status_code == 404
    assert stranger.post(f"{theirs}enabled/", {"enabled": "0"}).status_code == 404
    fired.refresh_from_db()
    assert fired.is_enabled is True


def test_anonymous_is_sent_to_log_in(owner, fired):
    response = Client(HTTP_HOST="localhost").get(f"/dashboard/{owner.account.pk}/automations/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
