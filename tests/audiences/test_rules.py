"""The rule language: each condition and filter picks exactly its contacts, in one query,
and a bad rule is refused naming what is wrong."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from attribution.models import Conversion
from audiences.models import ContactLabel
from audiences.rules import RuleInvalid, rule_members, rule_parse, rule_words
from core import bounds
from core.models import Account, Campaign, Creative, SendingList
from tests.audiences.facts import (
    click_counted,
    contact_make,
    conversion_made,
    message_sent,
)
from tests.helpers import make_offer

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def picked(account: Account, rule: dict, now: dt.datetime | None = None, **kwargs) -> set[int]:
    parsed = rule_parse(rule, account_id=account.pk)
    now = now or timezone.now()
    return set(
        rule_members(parsed, account_id=account.pk, now=now, **kwargs).values_list("pk", flat=True)
    )


@pytest.fixture
def world(owner):
    account = owner.account
    w = type("World", (), {})()
    w.account = account
    w.spring = Campaign.objects.create(account=account, name="Spring")
    w.autumn = Campaign.objects.create(account=account, name="Autumn")
    w.creative = Creative.objects.create(account=account, name="Big", campaign=w.spring)
    w.vip_list = SendingList.objects.create(account=account, name="VIP")
    w.offer = make_offer(owner, name="Shoes")
    w.other_offer = make_offer(owner, name="Hats")
    return w


def test_clicked_is_a_counted_judged_click_with_each_filter(world):
    a = world.account
    clicker, unjudged, other_campaign, old, nobody = (contact_make(a) for _ in range(5))
    m = message_sent(clicker, campaign=world.spring, creative=world.creative,
                     sending_list=world.vip_list, offer=world.offer)  # fmt: skip
    click_counted(m, at=NOW - dt.timedelta(days=1))
    click_counted(message_sent(unjudged, campaign=world.spring), judged=False)
    click_counted(message_sent(other_campaign, campaign=world.autumn, offer=world.other_offer))
    click_counted(message_sent(old, campaign=world.spring), at=NOW - dt.timedelta(days=10))
    message_sent(nobody, campaign=world.spring)

    assert picked(a, {"all": [{"clicked": {}}]}) == {clicker.pk, other_campaign.pk, old.pk}
    spring = {"all": [{"clicked": {"campaign": world.spring.pk}}]}
    assert picked(a, spring) == {clicker.pk, old.pk}
    week = {"all": [{"clicked": {"campaign": world.spring.pk, "within_days": 7}}]}
    assert picked(a, week) == {clicker.pk}
    for field, value in [("offer", world.offer.pk), ("creative", world.creative.pk),
                         ("list", world.vip_list.pk)]:  # fmt: skip
        assert picked(a, {"all": [{"clicked": {field: value}}]}) == {clicker.pk}, field
    assert picked(a, {"all": [{"clicked": {"offer": world.other_offer.pk}}]}) == {other_campaign.pk}


def test_received_and_not_clicked(world):
    a = world.account
    clicked, ignored, future, stale = (contact_make(a) for _ in range(4))
    click_counted(message_sent(clicked, campaign=world.spring, offer=world.offer))
    message_sent(ignored, campaign=world.spring, offer=world.offer, at=NOW - dt.timedelta(hours=2))
    message_sent(future, campaign=world.spring, at=NOW + dt.timedelta(days=1))
    message_sent(stale, campaign=world.spring, at=NOW - dt.timedelta(days=30))

    received = {"all": [{"received": {"campaign": world.spring.pk}}]}
    assert picked(a, received) == {clicked.pk, ignored.pk, stale.pk}  # not the future send
    recent = {"all": [{"received": {"campaign": world.spring.pk, "within_days": 7}}]}
    assert picked(a, recent) == {clicked.pk, ignored.pk}
    assert picked(a, {"all": [{"received": {"offer": world.offer.pk}}]}) == {
        clicked.pk,
        ignored.pk,
    }
    not_clicked = {"all": [{"not_clicked": {"campaign": world.spring.pk, "within_days": 7}}]}
    assert picked(a, not_clicked) == {ignored.pk}
    assert picked(a, {"all": [{"not_clicked": {}}]}) == {ignored.pk, stale.pk}


def test_not_clicked_is_per_message(world):
    """Clicked one message of the campaign, not the other: still not_clicked."""
    a = world.account
    contact = contact_make(a)
    click_counted(message_sent(contact, campaign=world.spring))
    message_sent(contact, campaign=world.spring)
    assert picked(a, {"all": [{"not_clicked": {"campaign": world.spring.pk}}]}) == {contact.pk}


def test_converted_counts_approved_conversions_only(world):
    a = world.account
    approved, pending, other = (contact_make(a) for _ in range(3))
    m = message_sent(approved, campaign=world.spring, sending_list=world.vip_list)
    conversion_made(approved, message=m, offer=world.offer, at=NOW - dt.timedelta(days=2))
    conversion_made(pending, status=Conversion.Status.PENDING, offer=world.offer)
    conversion_made(other, offer=world.other_offer, at=NOW - dt.timedelta(days=20))
    assert not Conversion.approved_values("pending", "approved")

    assert picked(a, {"all": [{"converted": {}}]}) == {approved.pk, other.pk}
    assert picked(a, {"all": [{"converted": {"offer": world.offer.pk}}]}) == {approved.pk}
    for field, value in [("campaign", world.spring.pk), ("list", world.vip_list.pk)]:
        assert picked(a, {"all": [{"converted": {field: value}}]}) == {approved.pk}, field
    assert picked(a, {"all": [{"converted": {"within_days": 7}}]}) == {approved.pk}


def test_label_and_all_together_and_test_contacts_never(world):
    a = world.account
    vip, plain, tester = contact_make(a), contact_make(a), contact_make(a, is_test=True)
    for c in (vip, plain, tester):
        click_counted(message_sent(c, campaign=world.spring))
    for c in (vip, tester):
        ContactLabel.objects.create(account=a, contact=c, name="vip")
    assert picked(a, {"all": [{"label": "vip"}]}) == {vip.pk}
    rule = {"all": [{"clicked": {"campaign": world.spring.pk}}, {"label": " vip "}]}
    assert picked(a, rule) == {vip.pk}
    assert picked(a, {"all": [{"clicked": {}}]}) == {vip.pk, plain.pk}  # never the tester
    assert picked(a, {"all": [{"clicked": {}}]}, contact_ids=[plain.pk, tester.pk]) == {plain.pk}


def test_clicked_but_not_converted_in_the_last_week_is_one_query(world):
    """`all` only: "clicked Spring in the last 7 days and has not converted" needs a label
    or is written as clicked + not_clicked pairs; here clicked and a label, in one query."""
    a = world.account
    c = contact_make(a)
    click_counted(message_sent(c, campaign=world.spring))
    conversion_made(c)
    rule = rule_parse(
        {"all": [{"clicked": {"campaign": world.spring.pk, "within_days": 7}},
                 {"converted": {"within_days": 7}}, {"label": "x"}]},
        account_id=a.pk,
    )  # fmt: skip
    with CaptureQueriesContext(connection) as queries:
        assert list(rule_members(rule, account_id=a.pk, now=NOW)) == []
    assert len(queries) == 1


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ({"any": []}, "all"),
        ({"all": [], "x": 1}, "all"),
        ({"all": [{"clicked": {}}], "any": 1}, "any"),
        ({"all": [{"opened": {}}]}, "all[0].opened"),
        ({"all": [{"clicked": {"campain": 1}}]}, "all[0].clicked.campain"),
        ({"all": [{"clicked": {}, "label": "x"}]}, "all[0]"),
        ({"all": [{"clicked": {"within_days": 0}}]}, "all[0].clicked.within_days"),
        ({"all": [{"clicked": {"within_days": bounds.AUDIENCE_MAX_WITHIN_DAYS + 1}}]},
         "all[0].clicked.within_days"),
        ({"all": [{"received": {"within_days": "7"}}]}, "all[0].received.within_days"),
        ({"all": [{"received": {"within_days": True}}]}, "all[0].received.within_days"),
        ({"all": [{"converted": {"offer": "3"}}]}, "all[0].converted.offer"),
        ({"all": [{"label": "  "}]}, "all[0].label"),
        ({"all": [{"label": "x" * 101}]}, "all[0].label"),
        ({"all": [{"clicked": []}]}, "all[0].clicked"),
        ({"all": [{"label": "x"}] * (bounds.AUDIENCE_MAX_CONDITIONS + 1)}, "all"),
        ([], "all"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused_by_path(owner, rule, path):
    with pytest.raises(RuleInvalid) as caught:
        rule_parse(rule, account_id=owner.account.pk)
    assert path in caught.value.errors, caught.value.errors


def test_another_accounts_or_a_missing_id_is_refused(owner, outsider):
    theirs = Campaign.objects.create(account=outsider.account, name="Theirs")
    mine = Campaign.objects.create(account=owner.account, name="Mine")
    rule = {"all": [{"clicked": {"campaign": mine.pk}}, {"received": {"campaign": theirs.pk}},
                    {"converted": {"list": 999_999_999}}]}  # fmt: skip
    with pytest.raises(RuleInvalid) as caught:
        rule_parse(rule, account_id=owner.account.pk)
    assert set(caught.value.errors) == {"all[1].received.campaign", "all[2].converted.list"}
    assert str(theirs.pk) in caught.value.errors["all[1].received.campaign"][0]


def test_rule_in_words(world):
    rule = rule_parse(
        {"all": [{"clicked": {"campaign": world.spring.pk, "within_days": 7}}, {"label": "vip"}]},
        account_id=world.account.pk,
    )
    words = rule_words(rule, {("campaign", world.spring.pk): "Spring"})
    assert words == "clicked campaign Spring in the last 7 days, and has label vip"
    assert (
        rule.is_timed
        and not rule_parse({"all": [{"clicked": {}}]}, account_id=world.account.pk).is_timed
    )
