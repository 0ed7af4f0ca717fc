"""The contact.audience_entered trigger: one run per entry (keyed by the entry event), fired
only if the contact is still a member at due time. Audiences are read lazily
(automations.membership): where the audiences app's Audience model is not installed yet,
the membership check answers no."""

from __future__ import annotations

import pytest

from audiences.labels import contact_labels
from automations.membership import audiences_available
from automations.models import AutomationRun
from automations.runner import runs_due
from automations.triggers import automations_consume
from core.models import Event
from tests.automations.facts import after, audience_entered_event, automation, clicked_now, sent

pytestmark = pytest.mark.django_db

ADD_VIP = {"type": "label", "add": "vip"}


def test_each_entry_schedules_one_run_keyed_by_its_event(owner, outsider):
    audience_id = 41
    automation(owner, {"event": "contact.audience_entered", "audience": audience_id}, ADD_VIP)
    contact = clicked_now(sent(owner)).contact
    audience_entered_event(owner.account.pk, audience_id, contact)
    audience_entered_event(owner.account.pk, audience_id + 1, contact)  # another audience
    automations_consume()
    first = Event.objects.get(type="contact.audience_entered", data__audience__id=audience_id)
    run = AutomationRun.objects.get()
    assert run.trigger_key == f"entry:{audience_id}:{contact.pk}:{first.sequence}"
    assert (run.audience_id, run.message_id) == (audience_id, None)

    audience_entered_event(owner.account.pk, audience_id, contact, occurred_at=after(600))
    automations_consume()  # left and entered again: a second entry, a second run
    assert AutomationRun.objects.count() == 2


def test_a_contact_no_longer_a_member_at_due_time_is_skipped(owner):
    if audiences_available():
        pytest.skip("audiences installed: membership is real; see the report's wiring note")
    automation(owner, {"event": "contact.audience_entered", "audience": 7}, ADD_VIP)
    contact = clicked_now(sent(owner)).contact
    audience_entered_event(owner.account.pk, 7, contact)
    automations_consume()
    assert runs_due(now=after(60)).skipped == 1
    assert AutomationRun.objects.get().skipped_reason == "No longer in the audience."
    assert contact_labels(contact.pk) == []
