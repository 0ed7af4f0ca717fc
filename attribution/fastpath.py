"""The common postback in two SQL statements.

Most postbacks name a stored click (or link) whose contact has a counted click on the same
offer inside the window: the conversion is credited and that is all. Through the ORM that
took eight statements and about 4 ms of Python; here it is one INSERT for the log (committed
first, so nothing is lost) and one statement that finds the link, the credited click, the
message's campaign and creative, inserts the conversion and closes the log.

Only the credited case of a new conversion is decided here. When the statement inserts
nothing (no such click or link yet, a stored (txn_id, event): a duplicate or an update, no
qualifying click: unattributed, bot-only or view-through; revenue or payout above the
offer's cap) the caller falls back to `services.conversion_postback`. Both
run the rule's SQL from attribution.rules (the credited click, the window, direct or
click-through); tests check that both credit the same click
(tests/attribution/test_fastpath.py) and follow a swapped rule
(tests/attribution/test_attribution_rule.py). The answer and the log close come from
attribution.answer, as the full path's do.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from attribution import rules
from attribution.answer import attribution_answer, log_close_sql, log_closed
from attribution.fraud import conversion_injection_check
from attribution.models import Conversion, PostbackLog
from attribution.postback_input import ConversionInput
from core import prepared
from links import ids

_LOG_INSERT = """
    INSERT INTO attribution_postbacklog
        (account_id, endpoint, method, host, query, body, ip, user_agent, received_at,
         outcome, reason, http_status)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'received', '', NULL)
    RETURNING id
"""

# `src`: the link the postback names (through its click, or directly), its offer and the
# window that applies. `credited`: the credited click, by attribution.rules (window, order
# and direct vs click-through are its fragments, assembled here). Race: the same txn_id on
# two connections at once; the partial unique index lets one INSERT win, the other inserts
# nothing and the caller answers `duplicate` from the full path.
_CREDIT = """
WITH src AS (
    SELECT l.id AS link_pk, l.contact_id, l.message_id, l.offer_id,
           o.default_payout, a.currency AS account_currency,
           {window_days} AS window_days
    FROM {source}
    JOIN trackly_account a ON a.id = l.account_id
    LEFT JOIN trackly_offer o ON o.id = l.offer_id
    WHERE {where}
      -- Revenue or payout above the offer's cap (Offer.revenue_within_cap): nothing is
      -- recorded here, the full path answers it (400 naming the field).
      AND (%(revenue)s::numeric IS NULL OR o.revenue_cap IS NULL
           OR %(revenue)s::numeric <= o.revenue_cap)
      AND (%(payout)s::numeric IS NULL OR o.revenue_cap IS NULL
           OR %(payout)s::numeric <= o.revenue_cap)
),
credited AS (
    -- The counted click keeps its raw click's public id: no join to the raw click, which
    -- retention may have pruned (the counted click stays, and still earns the credit).
    SELECT mc.id, mc.raw_click_id AS click_pk, mc.clicked_at, mc.message_id,
           m.campaign_id, m.creative_id, mc.click_id AS click_ref
    FROM src
    CROSS JOIN LATERAL ({credited_click}) mc
    JOIN trackly_message m ON m.id = mc.message_id
),
ins AS (
    INSERT INTO attribution_conversion
        (account_id, txn_id, event, revenue, payout, approval, revenue_reported, currency,
         occurred_at,
         received_at, status, attribution_type, unattributed_reason, reported_click_id,
         reported_link_id, message_click_id, raw_click_id, message_id, contact_id, offer_id,
         campaign_id, creative_id, postback_log_id)
    SELECT %(account)s, %(txn)s, %(event)s,
           -- postback_input.amounts_filled: one amount missing equals the other; both
           -- missing, the offer's default payout.
           COALESCE(%(revenue)s::numeric, %(payout)s::numeric, src.default_payout, 0),
           COALESCE(%(payout)s::numeric, %(revenue)s::numeric, src.default_payout, 0),
           COALESCE(%(approval)s, 'approved'),
           %(revenue)s::numeric IS NOT NULL OR %(payout)s::numeric IS NOT NULL,
           COALESCE(%(currency)s, src.account_currency), %(at)s, %(now)s, 'accepted',
           {kind},
           '', %(reported_click)s, src.link_pk, credited.id, credited.click_pk,
           credited.message_id, src.contact_id, src.offer_id, credited.campaign_id,
           credited.creative_id, %(log)s
    FROM src, credited
    ON CONFLICT (account_id, txn_id, event) WHERE txn_id IS NOT NULL DO NOTHING
    RETURNING id, attribution_type, message_id, creative_id, offer_id, contact_id,
              campaign_id
),
closed AS (
    {log_close} AND EXISTS (SELECT 1 FROM ins)
)
SELECT ins.id, ins.attribution_type, credited.click_ref, ins.message_id, ins.creative_id,
       ins.offer_id, ins.contact_id, ins.campaign_id, credited.clicked_at
FROM ins, credited
"""
_SOURCES = {
    "click": (
        "links_messageshortlinkclick k0 JOIN links_messageshortlink l ON l.id = k0.short_link_id",
        "k0.account_id = %(account)s AND k0.click_id = %(ref)s",
    ),
    # A click id that carries its time (links.ids): the click within it, one partition once
    # raw clicks are partitioned. A miss takes the full path, which looks again by the id
    # alone (views.click_by_id), so an older random id that decodes to a time still lands.
    "timed click": (
        "links_messageshortlinkclick k0 JOIN links_messageshortlink l ON l.id = k0.short_link_id",
        "k0.account_id = %(account)s AND k0.click_id = %(ref)s"
        " AND k0.clicked_at >= %(from)s AND k0.clicked_at < %(to)s",
    ),
    "link": ("links_messageshortlink l", "l.account_id = %(account)s AND l.link_id = %(ref)s"),
}


@functools.cache
def _statement(by: str, window_days: str, credit_order: str, credit_kind: str) -> str:
    """_CREDIT for a click or a link under the rule's current fragments (the arguments:
    the cache key, so a swapped rule gets its own statement, and its own prepared plan)."""
    source, where = _SOURCES[by]
    return _CREDIT.format(
        source=source,
        where=where,
        window_days=rules.window_days_sql(offer="o", account="a"),
        credited_click=rules.credited_click_sql(
            contact="src.contact_id",
            offer="src.offer_id",
            message="src.message_id",
            at="%(at)s",
            window_days="src.window_days",
        ),
        kind=rules.credit_kind_sql(
            at="%(at)s", clicked_at="credited.clicked_at", direct="%(direct)s"
        ),
        log_close=log_close_sql(
            outcome=f"'{PostbackLog.Outcome.ACCEPTED.value}'",
            http_status="200",
            reason="''",
            log="%(log)s",
        ),
    )


def log_insert(fields: dict[str, Any]) -> PostbackLog:
    """The postback log row (services.postback_log_open's fields, in _LOG_INSERT's order)
    in one plain INSERT; autocommit: committed on return. PostgreSQL only."""
    # The request's first statement, so `reconnect` (a persistent connection that died
    # since the last request). Repeating it is safe: a failed INSERT wrote nothing.
    row = prepared.fetchone(_LOG_INSERT, list(fields.values()), reconnect=True)
    assert row is not None  # INSERT ... RETURNING
    return PostbackLog(id=row[0], **fields)


def conversion_credit(
    *,
    account_id: int,
    data: ConversionInput,
    log: PostbackLog,
    click_id: str = "",
    link_id: str = "",
) -> tuple[dict[str, Any], int, dt.datetime] | None:
    """Record a credited conversion for the click `click_id` (or the link `link_id`) and
    close its log. Returns (answer's attribution, conversion id, credited click time), or
    None when nothing was recorded: the caller then takes the full path."""
    if connection.vendor != "postgresql":
        return None  # the embedded SQLite default always takes the full path
    params = {
        "account": account_id,
        "ref": click_id or link_id,
        "txn": data.txn_id,
        "event": data.event,
        "revenue": data.revenue,
        "payout": data.payout,
        "approval": data.approval,
        "currency": data.currency or None,
        "at": data.occurred_at,
        "now": timezone.now(),
        "direct": rules.DIRECT_WITHIN,
        "reported_click": click_id,
        "log": log.pk,
    }
    window = ids.click_id_window(click_id) if click_id else None
    if window is not None:
        params["from"], params["to"] = window
    by = "link" if not click_id else "click" if window is None else "timed click"
    statement = _statement(by, rules.WINDOW_DAYS, rules.CREDIT_ORDER, rules.CREDIT_KIND)
    row = prepared.fetchone(statement, params)
    if row is None:
        return None
    conversion_id, kind, click_ref, message_id, creative_id, offer_id, contact_id = row[:7]
    campaign_id, clicked_at = row[7], row[8]
    log_closed(log, outcome=PostbackLog.Outcome.ACCEPTED, http_status=200, reason="")
    attribution = attribution_answer(
        type=kind,
        click_id=click_ref,
        message_id=message_id,
        creative_id=creative_id,
        offer_id=offer_id,
        contact_id=contact_id,
        campaign_id=campaign_id,
    )
    return attribution, conversion_id, clicked_at


def injection_check(conversion_id: int, occurred_at: dt.datetime, clicked_at: dt.datetime) -> None:
    """fraud.conversion_injection_check, loading the conversion only when its click
    came suspiciously soon before it."""
    if (occurred_at - clicked_at).total_seconds() >= settings.FRAUD_CLICK_INJECTION_SECONDS:
        return
    conversion_injection_check(
        Conversion.objects.select_related("message_click").get(pk=conversion_id)
    )
