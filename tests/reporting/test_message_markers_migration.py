"""reporting 0016: the trigger functions rewritten to write one message marker a
statement, the markers waiting carried over, and the way back."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.models import Account
from links.models import MessageShortLinkClick
from reporting.models import DirtyHour, DirtyMessage
from tests.reporting.dataset import dataset_build

BEFORE = [("reporting", "0015_month_triggers")]


def migrate(targets: list[tuple[str, str]] | None = None) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


def marker_rows() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM reporting_dirtymessage ORDER BY id")
        return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
def test_markers_go_to_one_row_a_statement_and_back(owner: Any) -> None:
    data = dataset_build(owner)
    messages = [data.messages[n].pk for n in ("m1", "m2", "m3")]
    DirtyMessage.objects.all().delete()
    DirtyHour.objects.all().delete()
    try:
        migrate(BEFORE)
        # The old shape: a row a message, from the same statement.
        MessageShortLinkClick.objects.filter(message_id__in=messages).update(is_bot=True)
        old_rows = marker_rows()
        assert sorted(row[1] for row in old_rows) == sorted(messages)

        migrate()
        assert DirtyMessage.marked() == set(messages)  # carried over, one a row
        DirtyMessage.objects.all().delete()
        MessageShortLinkClick.objects.filter(message_id__in=messages).update(is_bot=False)
        assert DirtyMessage.objects.count() == 1 and DirtyMessage.marked() == set(messages)

        migrate(BEFORE)
        # Backward: markers replaced by a rebuild of every account, the old shape again.
        assert marker_rows() == []
        accounts = set(Account.objects.values_list("pk", flat=True))
        assert set(DirtyHour.objects.filter(hour=None).values_list("account_id", flat=True)) == (
            accounts
        )
        MessageShortLinkClick.objects.filter(message_id__in=messages).update(is_bot=True)
        assert sorted(row[1] for row in marker_rows()) == sorted(messages)
    finally:
        migrate()
