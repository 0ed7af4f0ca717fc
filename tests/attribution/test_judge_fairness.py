"""No account holds another's clicks behind it at the judge: each account waiting gets a
share of a batch, whatever the other has piled up (a scanner flooding its links)."""

from __future__ import annotations

import datetime as dt

import pytest

from attribution import bot_checks
from links.models import MessageShortLinkClick
from tests.attribution.test_judge_speed import T0, burst_stored

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_quiet_account_is_judged_in_the_first_batch_behind_a_flood(make_account):
    flooded, quiet = make_account(), make_account()
    burst_stored(flooded.account, 60)
    # The quiet account's one click is newer than every click of the flood.
    MessageShortLinkClick.objects.filter(account=flooded.account).update(
        clicked_at=T0 - dt.timedelta(days=1)
    )
    burst_stored(quiet.account, 1, prefix="q")

    assert bot_checks.clicks_judge_pending(limit=20) == 20

    judged = MessageShortLinkClick.objects.filter(judged_at__isnull=False)
    assert judged.filter(account=quiet.account).count() == 1
    assert judged.filter(account=flooded.account).count() == 19  # the rest of the batch


def test_a_batch_is_filled_when_one_account_has_less_than_its_share(make_account):
    a, b = make_account(), make_account()
    burst_stored(a.account, 30)
    burst_stored(b.account, 2, prefix="q")

    assert bot_checks.clicks_judge_pending(limit=20) == 20
    judged = MessageShortLinkClick.objects.filter(judged_at__isnull=False)
    assert judged.filter(account=b.account).count() == 2
    assert judged.filter(account=a.account).count() == 18
