"""Automations from event to action: a trigger schedules one run per thing it tells of, due
after the delay; at due time the trigger is checked again and the action done once."""

from __future__ import annotations

import pytest

from audiences.labels import contact_labels, contact_labels_change
from automations.models import AutomationRun
from automations.runner import runs_due
from automations.triggers import automations_consume
from core.models import Campaign, Event
from links.internal import contact_is_test_set
from tests.automations.facts import (
    after,
    automation,
    clicked_event,
    clicked_now,
    conversion_event,
    converted,
    endpoint,
    judged_bot,
    sent,
)
from tests.helpers import click_stored, make_offer

pytestmark = pytest.mark.django_db

CLICKED = {"event": "message.clicked"}
ADD_VIP = {"type": "label", "add": "vip"}


def labels_of(click) -> list[str]:
    return contact_labels(click.contact_id)


def test_a_click_fires_once_after_the_delay(owner):
    auto = automation(owner, CLICKED, ADD_VIP, delay_seconds=60)
    click = clicked_now(sent(owner))
    clicked_event(click)
    assert automations_consume() == 1
    run = AutomationRun.objects.get()
    assert (run.automation, run.contact_id, run.message_id) == (
        auto,
        click.contact_id,
        click.message_id,
    )
    assert run.trigger_key == f"click:{click.contact_id}:{click.message_id}"
    assert run.due_at == after(60) and run.status == "scheduled"

    assert runs_due(now=after(59)).fired == 0
    assert labels_of(click) == []
    assert runs_due(now=after(60)).fired == 1
    assert labels_of(click) == ["vip"]
    run.refresh_from_db()
    assert run.status == "fired" and run.fired_at == after(60)
    assert runs_due(now=after(3600)).fired == 0  # once

    # A second message.clicked for the same (contact, message), as after a move: nothing.
    contact_labels_change(contact_id=click.contact_id, remove=["vip"])
    clicked_event(click, occurred_at=after(120))
    automations_consume()
    assert AutomationRun.objects.count() == 1
    assert runs_due(now=after(7200)).fired == 0
    assert labels_of(click) == []


def test_a_click_judged_a_bot_within_the_delay_fires_nothing(owner):
    automation(owner, CLICKED, ADD_VIP)
    click = clicked_now(sent(owner))
    clicked_event(click)
    automations_consume()
    judged_bot(click)  # before due time: its counted click goes
    counts = runs_due(now=after(60))
    assert (counts.fired, counts.skipped) == (0, 1)
    run = AutomationRun.objects.get()
    assert run.status == "skipped" and "bot" in run.skipped_reason
    assert labels_of(click) == []


def test_a_skipped_click_run_fires_when_the_counted_click_moves_to_a_person(owner):
    automation(owner, CLICKED, ADD_VIP)
    message = sent(owner)
    bot_click = clicked_now(message)
    clicked_event(bot_click)
    automations_consume()
    judged_bot(bot_click)
    runs_due(now=after(60))
    assert AutomationRun.objects.get().status == "skipped"

    person = click_stored(bot_click.short_link, after(90))  # now the counted click
    clicked_event(person, occurred_at=after(100))
    automations_consume()
    run = AutomationRun.objects.get()
    assert run.status == "scheduled" and run.due_at == after(160)
    assert runs_due(now=after(160)).fired == 1
    assert labels_of(person) == ["vip"]


@pytest.mark.parametrize(
    ("which", "expected"), [("campaign", "AB"), ("offer", "AD"), ("link", "AC")]
)
def test_filters_pick_the_clicks_they_name(owner, which, expected):
    offer = make_offer(owner)
    messages = {
        "A": sent(owner, link="link1", campaign="Spring", offer=offer),
        "B": sent(owner, link="link2", campaign="Spring"),
        "C": sent(owner, link="link1"),
        "D": sent(owner, link="link3", offer=offer),
    }
    campaign = Campaign.objects.get(account=owner.account, name="Spring")
    trigger = {
        "campaign": {"event": "message.clicked", "campaign": campaign.pk},
        "offer": {"event": "message.clicked", "offer": offer.pk},
        "link": {"event": "message.clicked", "link": "link1"},
    }[which]
    automation(owner, trigger, ADD_VIP)
    for message in messages.values():
        clicked_event(clicked_now(message))
    automations_consume()
    fired = set(AutomationRun.objects.values_list("message_id", flat=True))
    assert fired == {messages[name].pk for name in expected}
    assert runs_due(now=after(60)).fired == len(expected)


def test_label_remove_action(owner):
    automation(owner, CLICKED, {"type": "label", "remove": "cold"})
    click = clicked_now(sent(owner))
    contact_labels_change(contact_id=click.contact_id, add=["cold", "keep"])
    clicked_event(click)
    automations_consume()
    runs_due(now=after(60))
    assert labels_of(click) == ["keep"]


def test_webhook_action_emits_automation_fired_for_its_endpoint(owner):
    hook = endpoint(owner)
    auto = automation(owner, CLICKED, {"type": "webhook", "webhook": hook.pk, "journey": "winback"})
    click = clicked_now(sent(owner))
    clicked_event(click)
    automations_consume()
    trigger_sequence = Event.objects.get(type="message.clicked").sequence
    assert runs_due(now=after(60)).fired == 1
    fired = Event.objects.get(type="automation.fired")
    assert fired.endpoint_id == hook.pk and fired.account_id == owner.account.pk
    assert fired.occurred_at == after(60)
    contact = click.contact
    assert fired.data == {
        "automation": {"id": auto.pk, "name": auto.name},
        "journey": "winback",
        "contact": {
            "id": contact.pk,
            "external_id": contact.external_id,
            "phone": contact.phone,
            "email": contact.email,
        },
        "message": {
            "id": click.message_id,
            "external_id": click.message.external_id,
            "channel": "sms",
            "sent_at": fired.data["message"]["sent_at"],
        },
        "trigger": {"event": "message.clicked", "sequence": trigger_sequence},
    }
    assert fired.data["message"]["sent_at"].endswith("Z")


def test_a_webhook_deleted_before_due_time_skips(owner):
    hook = endpoint(owner)
    automation(owner, CLICKED, {"type": "webhook", "webhook": hook.pk, "journey": "j"})
    clicked_event(clicked_now(sent(owner)))
    automations_consume()
    hook.delete()
    assert runs_due(now=after(60)).skipped == 1
    assert not Event.objects.filter(type="automation.fired").exists()


def test_conversion_trigger_fires_for_approved_conversions_only_once(owner):
    automation(owner, {"event": "conversion.recorded"}, ADD_VIP)
    click = clicked_now(sent(owner))
    pending = converted(click, status="pending", txn_id="p")
    conversion_event(pending)
    automations_consume()
    assert not AutomationRun.objects.exists()  # not approved: nothing scheduled

    pending.status = "accepted"
    pending.save()
    conversion_event(pending, occurred_at=after(10))  # told again once approved
    conversion_event(pending, occurred_at=after(20))  # and again: still once
    automations_consume()
    run = AutomationRun.objects.get()
    assert run.trigger_key == f"conversion:{pending.pk}" and run.conversion_id == pending.pk
    assert runs_due(now=after(70)).fired == 1
    assert labels_of(click) == ["vip"]


def test_a_conversion_no_longer_approved_at_due_time_skips(owner):
    automation(owner, {"event": "conversion.recorded"}, ADD_VIP)
    click = clicked_now(sent(owner))
    conversion = converted(click)
    conversion_event(conversion)
    automations_consume()
    type(conversion).objects.filter(pk=conversion.pk).update(status="pending")
    assert runs_due(now=after(60)).skipped == 1
    assert "not approved" in AutomationRun.objects.get().skipped_reason
    assert labels_of(click) == []


def test_an_unattributed_conversion_schedules_nothing(owner):
    automation(owner, {"event": "conversion.recorded"}, ADD_VIP)
    click = clicked_now(sent(owner))
    conversion = converted(click)
    type(conversion).objects.filter(pk=conversion.pk).update(contact=None)
    conversion.refresh_from_db()
    conversion_event(conversion)
    assert automations_consume() == 0


def test_test_contacts_never_fire(owner):
    automation(owner, CLICKED, ADD_VIP)
    click = clicked_now(sent(owner))
    contact_is_test_set(contact_id=click.contact_id, is_test=True)
    clicked_event(click)
    assert automations_consume() == 0
    # Marked a tester after the event was read: skipped at due time.
    other = clicked_now(sent(owner))
    clicked_event(other)
    automations_consume()
    contact_is_test_set(contact_id=other.contact_id, is_test=True)
    assert runs_due(now=after(60)).skipped == 1
    assert labels_of(other) == []


def test_internal_clicks_never_fire(owner):
    automation(owner, CLICKED, ADD_VIP)
    click = clicked_now(sent(owner))
    type(click).objects.filter(pk=click.pk).update(bot_reason="internal")
    clicked_event(click)
    assert automations_consume() == 0


def test_disabled_automations_and_other_accounts_do_not_fire(owner, outsider):
    automation(owner, CLICKED, ADD_VIP, is_enabled=False)
    automation(outsider, CLICKED, ADD_VIP)
    clicked_event(clicked_now(sent(owner)))
    assert automations_consume() == 0


def test_an_automation_disabled_before_due_time_skips(owner):
    auto = automation(owner, CLICKED, ADD_VIP)
    clicked_event(clicked_now(sent(owner)))
    automations_consume()
    auto.is_enabled = False
    auto.save()
    assert runs_due(now=after(60)).skipped == 1


def test_each_event_is_read_once(owner):
    automation(owner, CLICKED, ADD_VIP)
    clicked_event(clicked_now(sent(owner)))
    assert automations_consume() == 1
    assert automations_consume() == 0


def test_the_beat_tasks_consume_and_run(owner, settings):
    from automations import tasks

    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {
        "automations.tasks.automations_consume_task",
        "automations.tasks.automations_run_due_task",
    } <= schedule
    automation(owner, CLICKED, ADD_VIP)
    click = clicked_now(sent(owner))
    clicked_event(click)  # at T0, long past: due now
    assert tasks.automations_consume_task.delay().get() == 1
    assert tasks.automations_run_due_task.delay().get() == 1
    assert labels_of(click) == ["vip"]
