"""The automations API: config scope, the trigger and action languages checked by key,
another account's ids a 400 in a body and a 404 in a URL, counts of runs."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from audiences.services import audience_create
from automations.models import Automation, AutomationRun
from automations.runner import runs_due
from automations.triggers import automations_consume
from core.models import ApiKey, Campaign
from tests.automations.facts import after, clicked_event, clicked_now, endpoint, sent
from tests.helpers import make_offer

pytestmark = pytest.mark.django_db

BODY = {
    "name": "VIP on click",
    "trigger": {"event": "message.clicked"},
    "action": {"type": "label", "add": "vip"},
}


def client_with(account: Any, scopes: list[str]) -> APIClient:
    _, raw = ApiKey.generate(account=account.account, name="scoped", scopes=scopes)
    client = APIClient(HTTP_HOST="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def create(account: Any, **fields: Any) -> Any:
    return account.post("/api/v1/automations", BODY | fields)


def errors(response: Any) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["errors"]


def test_create_answers_201_with_the_default_delay(owner, settings):
    response = create(owner)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["delay_seconds"] == settings.AUTOMATION_DEFAULT_DELAY_SECONDS == 60
    assert body["trigger"] == {"event": "message.clicked"}
    assert body["is_enabled"] is True
    assert (body["fired_count"], body["skipped_count"], body["last_fired_at"]) == (0, 0, None)
    assert Automation.objects.get(pk=body["id"]).account == owner.account


def test_filters_and_a_webhook_action_of_the_account_are_taken(owner):
    offer = make_offer(owner)
    campaign = Campaign.objects.create(account=owner.account, name="Spring")
    hook = endpoint(owner)
    response = create(
        owner,
        trigger={
            "event": "message.clicked",
            "campaign": campaign.pk,
            "offer": offer.pk,
            "link": "link1",
        },
        action={"type": "webhook", "webhook": hook.pk, "journey": "winback"},
        delay_seconds=0,
    )
    assert response.status_code == 201, response.content
    assert response.json()["action"] == {
        "type": "webhook",
        "webhook": hook.pk,
        "journey": "winback",
    }


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"fired_count": 3}, "fired_count"),
        ({"trigger": {"event": "message.opened"}}, "trigger.event"),
        ({"trigger": {"event": "message.clicked", "colour": 1}}, "trigger.colour"),
        ({"trigger": {"event": "conversion.recorded", "link": "link1"}}, "trigger.link"),
        ({"trigger": {"event": "message.clicked", "link": "no spaces"}}, "trigger.link"),
        ({"trigger": {"event": "message.clicked", "campaign": "x"}}, "trigger.campaign"),
        ({"trigger": {"event": "message.clicked", "campaign": 999999}}, "trigger.campaign"),
        ({"trigger": {"event": "message.clicked", "offer": 999999}}, "trigger.offer"),
        ({"trigger": {"event": "message.clicked", "offer": 2**64}}, "trigger.offer"),
        ({"trigger": {"event": "message.clicked", "offer": True}}, "trigger.offer"),
        ({"trigger": {"event": "contact.audience_entered"}}, "trigger.audience"),
        ({"trigger": {"event": "contact.audience_entered", "offer": 1}}, "trigger.offer"),
        ({"trigger": "message.clicked"}, "trigger.non_field_errors"),
        ({"action": {"type": "tag"}}, "action.type"),
        ({"action": {"type": "label"}}, "action.add"),
        ({"action": {"type": "label", "add": "a", "remove": "b"}}, "action.add"),
        ({"action": {"type": "label", "add": ""}}, "action.add"),
        ({"action": {"type": "label", "add": "x" * 101}}, "action.add"),
        ({"action": {"type": "label", "add": "a\nb"}}, "action.add"),
        ({"action": {"type": "label", "add": "a", "colour": 1}}, "action.colour"),
        ({"action": {"type": "webhook", "journey": "j"}}, "action.webhook"),
        ({"action": {"type": "webhook", "webhook": 999999, "journey": "j"}}, "action.webhook"),
        ({"delay_seconds": -1}, "delay_seconds"),
        ({"delay_seconds": 7 * 86400 + 1}, "delay_seconds"),
        ({"name": ""}, "name"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(owner, fields, field):
    assert field in errors(create(owner, **fields))
    assert not Automation.objects.exists()


def test_a_week_of_delay_is_the_most(owner):
    assert create(owner, delay_seconds=7 * 86400).status_code == 201


def test_a_webhook_without_a_journey_is_refused(owner):
    hook = endpoint(owner)
    response = create(owner, action={"type": "webhook", "webhook": hook.pk})
    assert "action.journey" in errors(response)


def test_another_accounts_ids_in_a_body_are_a_400_naming_them(owner, outsider):
    their_campaign = Campaign.objects.create(account=outsider.account, name="Theirs")
    their_offer = make_offer(outsider)
    their_hook = endpoint(outsider)
    trigger = {"event": "message.clicked", "campaign": their_campaign.pk}
    assert "trigger.campaign" in errors(create(owner, trigger=trigger))
    trigger = {"event": "message.clicked", "offer": their_offer.pk}
    assert "trigger.offer" in errors(create(owner, trigger=trigger))
    action = {"type": "webhook", "webhook": their_hook.pk, "journey": "j"}
    assert "action.webhook" in errors(create(owner, action=action))


def test_the_accounts_own_audience_is_accepted_and_another_accounts_is_a_400(owner, outsider):
    ours = audience_create(account=owner.account, name="Ours", rule={"all": [{"label": "a"}]})
    theirs = audience_create(
        account=outsider.account, name="Theirs", rule={"all": [{"label": "a"}]}
    )
    for event in ("contact.audience_entered", "message.clicked"):
        trigger = {"event": event, "audience": ours.pk}
        response = create(owner, name=f"On {event}", trigger=trigger)
        assert response.status_code == 201, response.content
        assert response.json()["trigger"]["audience"] == ours.pk
        trigger = {"event": event, "audience": theirs.pk}
        assert errors(create(owner, name=f"Theirs {event}", trigger=trigger))[
            "trigger.audience"
        ] == ["No such audience in this account."]
    trigger = {"event": "contact.audience_entered", "audience": 10**12}
    assert "trigger.audience" in errors(create(owner, name="None such", trigger=trigger))


def test_a_duplicate_name_is_a_400(owner):
    assert create(owner).status_code == 201
    assert "non_field_errors" in errors(create(owner))


def test_list_read_change_and_delete(owner):
    automation_id = create(owner).json()["id"]
    listed = owner.get("/api/v1/automations").json()
    assert [a["id"] for a in listed["results"]] == [automation_id]

    response = owner.client.patch(
        f"/api/v1/automations/{automation_id}",
        {"is_enabled": False, "delay_seconds": 300, "action": {"type": "label", "remove": "vip"}},
        format="json",
    )
    assert response.status_code == 200, response.content
    automation = Automation.objects.get(pk=automation_id)
    assert (automation.is_enabled, automation.delay_seconds) == (False, 300)
    assert automation.action == {"type": "label", "remove": "vip"}
    bad = owner.client.patch(
        f"/api/v1/automations/{automation_id}", {"trigger": {"event": "x"}}, format="json"
    )
    assert "trigger.event" in errors(bad)
    assert (
        owner.client.put(f"/api/v1/automations/{automation_id}", BODY, format="json").status_code
        == 405
    )

    assert owner.client.delete(f"/api/v1/automations/{automation_id}").status_code == 204
    assert not Automation.objects.exists()


def test_counts_and_runs(owner):
    automation_id = create(owner, delay_seconds=60).json()["id"]
    clicked_event(clicked_now(sent(owner)))
    clicked_event(clicked_now(sent(owner)))
    automations_consume()
    runs_due(now=after(60))
    body = owner.get(f"/api/v1/automations/{automation_id}").json()
    assert (body["fired_count"], body["skipped_count"]) == (2, 0)
    assert body["last_fired_at"].startswith("2026-11-02T12:01:00")

    runs = owner.get(f"/api/v1/automations/{automation_id}/runs", limit=1).json()
    assert runs["count"] == 2 and len(runs["results"]) == 1
    assert runs["results"][0]["status"] == "fired"
    assert runs["results"][0]["trigger_event"] == "message.clicked"
    assert "limit" in errors(owner.get(f"/api/v1/automations/{automation_id}/runs", limit=10**6))


def test_another_accounts_automation_is_a_404(owner, outsider):
    automation_id = create(outsider).json()["id"]
    path = f"/api/v1/automations/{automation_id}"
    assert owner.get(path).status_code == 404
    assert owner.get(f"{path}/runs").status_code == 404
    assert owner.client.patch(path, {"name": "mine"}, format="json").status_code == 404
    assert owner.client.delete(path).status_code == 404
    assert owner.get("/api/v1/automations").json()["results"] == []
    assert Automation.objects.get(pk=automation_id).name == BODY["name"]


@pytest.mark.parametrize("scopes", [["read"], ["mint"], ["read", "mint"]])
def test_only_a_config_key_reads_or_changes_automations(owner, scopes):
    automation_id = create(owner).json()["id"]
    client = client_with(owner, scopes)
    assert client.get("/api/v1/automations").status_code == 403
    assert client.get(f"/api/v1/automations/{automation_id}").status_code == 403
    response = client.post("/api/v1/automations", BODY | {"name": "x"}, format="json")
    assert response.status_code == 403 and "'config'" in response.json()["detail"]
    assert client.delete(f"/api/v1/automations/{automation_id}").status_code == 403
    assert client_with(owner, ["config"]).get("/api/v1/automations").status_code == 200
    assert AutomationRun.objects.count() == 0
