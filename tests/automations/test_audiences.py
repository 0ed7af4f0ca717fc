"""The contact.audience_entered trigger: one run per entry (keyed by the entry event), fired
only if the contact is still a member at due time; and the audience filter of a click
trigger. With real audiences (a label rule, so membership follows contact_labels_change)
and their entered / left events as the audiences app writes them."""

from __future__ import annotations

import datetime as dt

import pytest

from audiences.labels import contact_labels, contact_labels_change
from audiences.models import Audience, AudienceMember
from audiences.services import audience_create
from automations.models import AutomationRun
from automations.runner import runs_due
from automations.triggers import automations_consume
from core.models import Contact, Event
from tests.automations.facts import (
    after,
    audience_entered_event,
    automation,
    clicked_event,
    clicked_now,
    sent,
)

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


def labelled_audience(owner, label: str = "warm") -> Audience:
    """A real audience of the owner: the contacts with `label`."""
    return audience_create(
        account=owner.account, name=f"Has {label}", rule={"all": [{"label": label}]}
    )


def member_entered(audience: Audience, contact: Contact) -> Event:
    """The contact labelled into the audience; its entry event, as audiences wrote it."""
    contact_labels_change(contact_id=contact.pk, add=["warm"])
    assert AudienceMember.objects.filter(audience=audience, contact=contact).exists()
    return Event.objects.filter(type="contact.audience_entered").latest("id")


def due(run: AutomationRun):
    return run.due_at + dt.timedelta(seconds=1)


def test_a_members_entry_fires(owner):
    audience = labelled_audience(owner)
    automation(owner, {"event": "contact.audience_entered", "audience": audience.pk}, ADD_VIP)
    contact = clicked_now(sent(owner)).contact
    entry = member_entered(audience, contact)
    assert entry.data["audience"] == {"id": audience.pk, "name": audience.name}

    assert automations_consume() == 1
    run = AutomationRun.objects.get()
    assert (run.audience_id, run.contact_id) == (audience.pk, contact.pk)
    assert runs_due(now=due(run)).fired == 1
    assert AutomationRun.objects.get().status == AutomationRun.Status.FIRED
    assert contact_labels(contact.pk) == ["vip", "warm"]


def test_a_contact_that_left_before_due_time_is_skipped(owner):
    audience = labelled_audience(owner)
    automation(owner, {"event": "contact.audience_entered", "audience": audience.pk}, ADD_VIP)
    contact = clicked_now(sent(owner)).contact
    member_entered(audience, contact)
    automations_consume()
    contact_labels_change(contact_id=contact.pk, remove=["warm"])  # leaves within the delay
    assert not AudienceMember.objects.filter(audience=audience).exists()
    assert Event.objects.filter(type="contact.audience_left").count() == 1

    run = AutomationRun.objects.get()
    assert runs_due(now=due(run)).skipped == 1
    run.refresh_from_db()
    assert (run.status, run.skipped_reason) == ("skipped", "No longer in the audience.")
    assert contact_labels(contact.pk) == []


def test_a_deleted_audience_skips_its_entries_runs(owner):
    audience = labelled_audience(owner)
    automation(owner, {"event": "contact.audience_entered", "audience": audience.pk}, ADD_VIP)
    contact = clicked_now(sent(owner)).contact
    member_entered(audience, contact)
    automations_consume()
    Audience.objects.filter(pk=audience.pk).delete()

    run = AutomationRun.objects.get()
    assert runs_due(now=due(run)).skipped == 1
    assert AutomationRun.objects.get().skipped_reason == "No longer in the audience."


def test_the_audience_filter_of_a_click_trigger_fires_for_members_only(owner):
    audience = labelled_audience(owner)
    automation(owner, {"event": "message.clicked", "audience": audience.pk}, ADD_VIP)
    member_click = clicked_now(sent(owner))
    other_click = clicked_now(sent(owner))
    member_entered(audience, member_click.contact)
    clicked_event(member_click)
    clicked_event(other_click)

    assert automations_consume() == 2  # both match the event; membership is read at due time
    counts = runs_due(now=after(61))
    assert (counts.fired, counts.skipped) == (1, 1)
    fired = AutomationRun.objects.get(status=AutomationRun.Status.FIRED)
    skipped = AutomationRun.objects.get(status=AutomationRun.Status.SKIPPED)
    assert fired.contact_id == member_click.contact_id
    assert skipped.contact_id == other_click.contact_id
    assert skipped.skipped_reason == "Not in the trigger's audience."
    assert contact_labels(member_click.contact_id) == ["vip", "warm"]
    assert contact_labels(other_click.contact_id) == []
