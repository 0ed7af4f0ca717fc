"""Retention of the postback log: the rows received before the account's cutoff
(core.retention) go; conversions and their adjustments stay."""

from __future__ import annotations

import datetime as dt

from attribution.models import Conversion, ConversionAdjustment, PostbackLog
from core.retention import DELETE_BATCH, batched_delete


def postback_log_purge(account_id: int, cutoff: dt.datetime, *, batch: int = DELETE_BATCH) -> int:
    """Delete the account's postback log rows before `cutoff` (index
    postbacklog_account_received). Returns how many."""
    return batched_delete(
        PostbackLog._meta.db_table,
        "account_id = %s AND received_at < %s",
        [account_id, cutoff],
        batch,
        # The conversions and adjustments a logged postback made stay; they forget its row.
        references=(
            (Conversion._meta.db_table, "postback_log_id"),
            (ConversionAdjustment._meta.db_table, "postback_log_id"),
        ),
    )
