"""core.access under concurrency: an account keeps an owner when two owners demote each
other at the same moment."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from core import access
from core.access import AccessError, membership_role_change
from core.models import Account, Membership


@pytest.mark.django_db(transaction=True)
def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = Account.objects.create(name="Two owners")
    users = [get_user_model().objects.create_user(f"owner{n}") for n in range(2)]
    first, second = (
        Membership.objects.create(user=user, account=account, role="owner") for user in users
    )
    # Each change, once it has checked that another owner remains, waits for the other to
    # have checked too. Without the account's row lock both would pass the check and leave
    # no owner; with it, the second waits for the first to commit, so this wait times out
    # and the second then sees it would demote the last owner.
    checked = threading.Barrier(2, timeout=2)
    real_check = access.membership_is_last_owner

    def check_then_wait(membership: Membership) -> bool:
        last = real_check(membership)
        with contextlib.suppress(threading.BrokenBarrierError):  # the other is held
            checked.wait()
        return last

    monkeypatch.setattr(access, "membership_is_last_owner", check_then_wait)
    outcomes: list[Any] = []

    def demote(membership: Membership) -> None:
        try:
            membership_role_change(membership=membership, role="admin")
            outcomes.append("demoted")
        except AccessError as exc:
            outcomes.append(exc.field)
        finally:
            connection.close()

    threads = [threading.Thread(target=demote, args=(m,)) for m in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["demoted", "role"]
    assert Membership.objects.filter(account=account, role="owner").count() == 1
