"""Retention of the raw clicks: the rows older than the account's cutoff
(core.retention) go; counted clicks, their announcements and the links stay (their
references to a raw click carry no database foreign key)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from core.retention import DELETE_BATCH, batched_delete
from links.models import MessageShortLinkClick


def raw_clicks_purge(
    account_id: int,
    cutoff: dt.datetime,
    *,
    batch: int = DELETE_BATCH,
    before: Callable[[list[int]], None] | None = None,
) -> int:
    """Delete the account's raw clicks before `cutoff` (index rawclick_account_clicked),
    `before(ids)` run on each batch in its transaction before it goes. Returns how many."""
    return batched_delete(
        MessageShortLinkClick._meta.db_table,
        "account_id = %s AND clicked_at < %s",
        [account_id, cutoff],
        batch,
        before=before,
    )
