"""conversion.updated (attribution.adjustments): written once per change, only for a
conversion already announced; the audiences consumer re-evaluates on it (an approval
change changes `converted`) and the automations consumer fires a conversion trigger once,
when an update approves the conversion (audiences/consumer.py, automations/triggers.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from attribution.adjustments import Change, Origin, conversion_adjust
from attribution.conversion_events import conversions_announce
from attribution.models import Conversion
from audiences.consumer import audiences_consume
from audiences.models import AudienceMember
from audiences.services import audience_create
from automations.models import AutomationRun
from automations.runner import runs_due
from automations.triggers import automations_consume
from core.events import SUBSCRIBABLE
from core.models import Event
from tests.automations.facts import after, automation
from tests.helpers import clicked, make_offer, tracking

pytestmark = pytest.mark.django_db
BY_HAND = Origin(source="api", reason="test", actor="key test")


def updates() -> list[Event]:
    return list(Event.objects.filter(type="conversion.updated").order_by("id"))


def postback(account: Any, click_id: str, **params: str) -> Any:
    return tracking(account).get(
        "/conv", {"token": account.postback_token, "click_id": click_id, **params}
    )


def converted(account: Any, **params: str) -> tuple[str, Conversion]:
    _, click_id = clicked(account, make_offer(account, name="Shoes"))
    response = postback(account, click_id, txn_id="t1", **params)
    assert response.json()["status"] == "accepted"
    return click_id, Conversion.objects.get()


class TestConversionUpdated:
    def test_one_per_change_of_an_announced_conversion_with_its_payload(self, owner: Any) -> None:
        click_id, conversion = converted(owner, revenue="50", payout="5", status="pending")
        assert conversions_announce() == 1
        assert postback(owner, click_id, txn_id="t1", status="approved").json()["status"] == (
            "updated"
        )
        assert postback(owner, click_id, txn_id="t1", status="approved").json()["status"] == (
            "duplicate"
        )
        (event,) = updates()
        assert event.account_id == owner.account.pk
        assert event.data["conversion"]["id"] == conversion.pk
        assert event.data["conversion"]["approval"] == "approved"
        assert event.data["conversion"]["payout"] == "5.0000"
        assert event.data["previous"] == {
            "approval": "pending", "revenue": "50.0000", "payout": "5.0000",
        }  # fmt: skip
        assert event.data["adjustment"]["source"] == "postback"
        assert event.data["offer"]["name"] == "Shoes"
        assert event.data["contact"]["id"] == conversion.contact_id
        conversion_adjust(conversion.pk, Change(revenue=Decimal("20")), BY_HAND)
        assert len(updates()) == 2
        assert updates()[1].data["adjustment"]["revenue"]["change"] == "-30.0000"

    def test_none_for_a_conversion_not_yet_announced_which_is_announced_as_it_is(
        self, owner: Any
    ) -> None:
        click_id, conversion = converted(owner, revenue="50", status="pending")
        postback(owner, click_id, txn_id="t1", status="rejected")
        assert updates() == []
        conversions_announce()
        (recorded,) = Event.objects.filter(type="conversion.recorded")
        assert recorded.data["conversion"]["approval"] == "rejected"

    def test_endpoints_may_subscribe_to_it(self) -> None:
        assert "conversion.updated" in SUBSCRIBABLE


class TestWhatReactsToIt:
    def test_an_approval_change_moves_the_contact_in_and_out_of_converted(self, owner: Any) -> None:
        audience = audience_create(
            account=owner.account, name="Buyers", rule={"all": [{"converted": {}}]}
        )
        click_id, conversion = converted(owner, status="pending")
        conversions_announce()
        audiences_consume()
        members = AudienceMember.objects.filter(audience=audience)
        assert not members.exists()
        conversion_adjust(conversion.pk, Change(approval="approved"), BY_HAND)
        audiences_consume()
        assert list(members.values_list("contact_id", flat=True)) == [conversion.contact_id]
        postback(owner, click_id, txn_id="t1", status="reversed")
        audiences_consume()
        assert not members.exists()

    def test_a_conversion_trigger_fires_once_when_an_update_approves_it(self, owner: Any) -> None:
        automation(owner, {"event": "conversion.recorded"}, {"type": "label", "add": "buyer"})
        click_id, conversion = converted(owner, status="pending")
        conversions_announce()
        assert automations_consume() == 0  # recorded pending: nothing yet
        conversion_adjust(conversion.pk, Change(revenue=Decimal("3")), BY_HAND)
        assert automations_consume() == 0  # updated, still pending
        postback(owner, click_id, txn_id="t1", status="approved")
        assert automations_consume() == 1
        run = AutomationRun.objects.get()
        assert run.trigger_key == f"conversion:{conversion.pk}"
        assert (run.trigger_event, run.conversion_id) == ("conversion.recorded", conversion.pk)
        # Approved again after a rejection, and amounts changed while approved: still once.
        conversion_adjust(conversion.pk, Change(payout=Decimal("1")), BY_HAND)
        conversion_adjust(conversion.pk, Change(approval="rejected"), BY_HAND)
        conversion_adjust(conversion.pk, Change(approval="approved"), BY_HAND)
        automations_consume()
        assert AutomationRun.objects.count() == 1
        counts = runs_due(now=after(10**9))
        assert counts.fired == 1
        assert runs_due(now=after(10**9 + 60)).fired == 0

    def test_an_approved_new_conversion_fires_on_its_recorded_event_not_again_on_updates(
        self, owner: Any
    ) -> None:
        automation(owner, {"event": "conversion.recorded"}, {"type": "label", "add": "buyer"})
        click_id, conversion = converted(owner)
        conversions_announce()
        assert automations_consume() == 1
        postback(owner, click_id, txn_id="t1", revenue="9")
        assert automations_consume() == 0
        assert AutomationRun.objects.count() == 1
