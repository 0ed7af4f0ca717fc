"""The attribution rule, once, as SQL that every path runs.

The window is the offer's click_window_days, else the account's default. The credited click
is the contact's earliest MessageClick on the same offer (a link with no offer: on that
message) with clicked_at in [occurred_at - window, occurred_at]: direct when the conversion
came within DIRECT_WITHIN of it, else click-through. No such click: a contact who received
the offer inside the window and has no raw click on it there is view-through (credited to
the earliest such message); anyone else is unattributed, with the reason.

The parts are module-level fragments (WINDOW_DAYS, CREDIT_ORDER, CREDIT_KIND) assembled
when a statement runs, so a test can swap one (tests/attribution/test_attribution_rule.py)
and every path follows:
- the postback fast path (attribution.fastpath) runs `credited_click_sql` and CREDIT_KIND;
- the full path (`attribution_find`, through services.conversion_attribution: postbacks,
  pending matches, re-attribution after a verdict change) runs `attribution_sql` for one
  conversion;
- the scale data generator runs it for a whole load (`conversions_attribute`), a CSV
  import for its new rows (`conversions_attribute_listed`, from attribution.imports).
The embedded SQLite default has no LATERAL: there, and only there, the full path runs the
ORM form beside it (`attribution_find_embedded`), which the property test in
tests/attribution/test_fastpath.py holds to the SQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import connection

from attribution.models import Conversion
from core.models import Account, Offer
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick

DIRECT_WITHIN = dt.timedelta(minutes=30)

# The click window in days, from an offer row (which may be NULL: no offer) and its account.
WINDOW_DAYS = "COALESCE(NULLIF({offer}.click_window_days, 0), {account}.default_click_window_days)"
# Which of the window's counted clicks is credited: the first (the id breaks a tie).
CREDIT_ORDER = "{click}.clicked_at, {click}.id"
# Direct or click-through, from the conversion's time and the credited click's.
CREDIT_KIND = (
    "CASE WHEN {at} - {clicked_at} <= {direct} "
    f"THEN '{Conversion.AttributionType.DIRECT.value}' "
    f"ELSE '{Conversion.AttributionType.CLICK_THROUGH.value}' END"
)

# The reasons; %s: the window in days (PostgreSQL's format() and Python's % both fill it).
REASON_OLDER = "the contact's click on this offer is older than the %s-day window"
REASON_BOTS_ONLY = "only bot clicks on this offer in the %s-day window"
REASON_NO_CLICK = "no click on this offer in the %s-day window"
REASON_VIEW_THROUGH = "received the offer inside the window, never clicked"


def window_days_sql(*, offer: str, account: str) -> str:
    return WINDOW_DAYS.format(offer=offer, account=account)


def window_start_sql(*, at: str, window_days: str) -> str:
    # Seconds, not days: a century's window (36500) stays exact and in range.
    return f"({at} - make_interval(secs => {window_days} * 86400::float8))"


def credit_kind_sql(*, at: str, clicked_at: str, direct: str) -> str:
    return CREDIT_KIND.format(at=at, clicked_at=clicked_at, direct=direct)


def credited_click_sql(*, contact: str, offer: str, message: str, at: str, window_days: str) -> str:
    """A subquery (for a LATERAL join) giving the credited links_messageclick row, if any.

    Two branches, so each uses its index: on an offer, (contact, offer, clicked_at); with
    no offer, the one MessageClick of (contact, message)."""
    start = window_start_sql(at=at, window_days=window_days)
    order = CREDIT_ORDER.format(click="c")
    return f"""
        (SELECT * FROM links_messageclick c
         WHERE {offer} IS NOT NULL AND c.contact_id = {contact} AND c.offer_id = {offer}
           AND c.clicked_at >= {start} AND c.clicked_at <= {at}
         ORDER BY {order} LIMIT 1)
        UNION ALL
        (SELECT * FROM links_messageclick c
         WHERE {offer} IS NULL AND c.contact_id = {contact} AND c.message_id = {message}
           AND c.clicked_at >= {start} AND c.clicked_at <= {at})
    """  # noqa: S608 - fragments of this module and column names, never input


def attribution_sql(source: str) -> str:
    """The attribution of every row of `source`, a relation with the columns (key,
    account_id, contact_id, offer_id, message_id, occurred_at): one row per source row with
    key, window_days, attribution_type, unattributed_reason, message_click_id, raw_click_id,
    message_id, campaign_id, creative_id. Named parameters: direct and the reason_* ones
    (`attribution_params()`)."""
    start = window_start_sql(at="s.occurred_at", window_days="w.days")
    credited = credited_click_sql(
        contact="s.contact_id",
        offer="s.offer_id",
        message="s.message_id",
        at="s.occurred_at",
        window_days="w.days",
    )
    kind = credit_kind_sql(at="s.occurred_at", clicked_at="mc.clicked_at", direct="%(direct)s")
    # A link in scope: on the same offer, or (no offer) of the same message.
    scope = (
        "l.contact_id = s.contact_id AND (CASE WHEN s.offer_id IS NOT NULL "
        "THEN l.offer_id = s.offer_id ELSE l.message_id = s.message_id END)"
    )
    # The fall-backs are looked at only when no click is credited (the gating `mc.id IS NULL`).
    view_through, none = Conversion.AttributionType.VIEW_THROUGH, Conversion.AttributionType.NONE
    return f"""
        SELECT s.key, w.days AS window_days,
               CASE WHEN mc.id IS NOT NULL THEN {kind}
                    WHEN r.message_id IS NOT NULL THEN '{view_through.value}'
                    ELSE '{none.value}' END AS attribution_type,
               CASE WHEN mc.id IS NOT NULL THEN ''
                    WHEN raw.human THEN format(%(reason_older)s, w.days)
                    WHEN raw.any THEN format(%(reason_bots_only)s, w.days)
                    WHEN r.message_id IS NOT NULL THEN %(reason_view_through)s
                    WHEN earlier.found THEN format(%(reason_older)s, w.days)
                    ELSE format(%(reason_no_click)s, w.days) END AS unattributed_reason,
               mc.id AS message_click_id, mc.raw_click_id AS raw_click_id,
               m.id AS message_id, m.campaign_id, m.creative_id
        FROM {source} s
        JOIN trackly_account a ON a.id = s.account_id
        LEFT JOIN trackly_offer o ON o.id = s.offer_id
        CROSS JOIN LATERAL (SELECT {window_days_sql(offer="o", account="a")} AS days) w
        LEFT JOIN LATERAL ({credited}) mc ON true
        LEFT JOIN LATERAL (
            SELECT bool_or(NOT k.is_bot) AS human, count(k.id) > 0 AS any
            FROM links_messageshortlink l
            JOIN links_messageshortlinkclick k ON k.short_link_id = l.id
            WHERE mc.id IS NULL AND {scope} AND k.contact_id = s.contact_id
              AND k.clicked_at >= {start} AND k.clicked_at <= s.occurred_at
        ) raw ON true
        LEFT JOIN LATERAL (
            SELECT l.message_id
            FROM links_messageshortlink l
            JOIN trackly_message rm ON rm.id = l.message_id
            WHERE mc.id IS NULL AND NOT COALESCE(raw.any, false) AND {scope}
              AND rm.sent_at >= {start} AND rm.sent_at <= s.occurred_at
            ORDER BY rm.sent_at, l.id LIMIT 1
        ) r ON true
        LEFT JOIN LATERAL (
            SELECT true AS found FROM links_messageclick c
            WHERE mc.id IS NULL AND r.message_id IS NULL AND c.contact_id = s.contact_id
              AND (CASE WHEN s.offer_id IS NOT NULL THEN c.offer_id = s.offer_id
                        ELSE c.message_id = s.message_id END)
              AND c.clicked_at < {start}
            LIMIT 1
        ) earlier ON true
        LEFT JOIN trackly_message m ON m.id = COALESCE(mc.message_id, r.message_id)
    """  # noqa: S608 - fragments of this module and column names, never input


def attribution_params() -> dict[str, Any]:
    return {
        "direct": DIRECT_WITHIN,
        "reason_older": REASON_OLDER,
        "reason_bots_only": REASON_BOTS_ONLY,
        "reason_no_click": REASON_NO_CLICK,
        "reason_view_through": REASON_VIEW_THROUGH,
    }


_ONE = """(SELECT 0 AS key, %(account)s::bigint AS account_id, %(contact)s::bigint AS contact_id,
           %(offer)s::bigint AS offer_id, %(message)s::bigint AS message_id,
           %(at)s::timestamptz AS occurred_at)"""


@dataclass(frozen=True)
class Attribution:
    type: str
    reason: str = ""
    message_click: MessageClick | None = None
    message_id: int | None = None
    campaign_id: int | None = None
    creative_id: int | None = None

    @property
    def raw_click_id(self) -> int | None:
        return self.message_click.raw_click_id if self.message_click else None


def attribution_find(
    *,
    account_id: int,
    contact_id: int,
    offer_id: int | None,
    occurred_at: dt.datetime,
    message_id: int | None = None,
) -> Attribution:
    """Credit for a conversion of `contact_id` on `offer_id` at `occurred_at`, under the
    account's (or the offer's) window.

    A link with no offer can only credit its own message (`message_id`): there is no
    offer to match across messages.
    """
    if connection.vendor != "postgresql":
        return attribution_find_embedded(
            account_id=account_id,
            contact_id=contact_id,
            offer_id=offer_id,
            occurred_at=occurred_at,
            message_id=message_id,
        )
    params = {
        "account": account_id,
        "contact": contact_id,
        "offer": offer_id,
        "message": message_id,
        "at": occurred_at,
        **attribution_params(),
    }
    with connection.cursor() as cursor:
        cursor.execute(attribution_sql(_ONE), params)
        row = cursor.fetchone()
    _, _, kind, reason, message_click_id, _, message, campaign_id, creative_id = row
    credited = None
    if message_click_id is not None:
        # Not through the raw click: retention may have pruned it (the counted click keeps
        # its id), and MessageClick.raw_click has no database foreign key to join on.
        credited = MessageClick.objects.get(pk=message_click_id)
    return Attribution(
        type=kind,
        reason=reason,
        message_click=credited,
        message_id=message,
        campaign_id=campaign_id,
        creative_id=creative_id,
    )


def attribution_find_embedded(
    *,
    account_id: int,
    contact_id: int,
    offer_id: int | None,
    occurred_at: dt.datetime,
    message_id: int | None = None,
) -> Attribution:
    """attribution_find through the ORM, for the embedded SQLite default only (attribution_sql
    is PostgreSQL's); tests/attribution/test_fastpath.py holds it to the SQL."""
    offer = Offer.objects.filter(pk=offer_id).first() if offer_id is not None else None
    window_days = (
        offer.click_window_days
        if offer and offer.click_window_days
        else Account.objects.get(pk=account_id).default_click_window_days
    )
    start = occurred_at - dt.timedelta(days=window_days)
    scope = {"offer_id": offer_id} if offer_id is not None else {"message_id": message_id}
    credited = (
        MessageClick.objects.filter(
            contact_id=contact_id, clicked_at__gte=start, clicked_at__lte=occurred_at, **scope
        )
        .select_related("message")  # not the raw click: it may be pruned
        .order_by("clicked_at", "id")
        .first()
    )
    if credited is not None:
        kind = (
            Conversion.AttributionType.DIRECT
            if occurred_at - credited.clicked_at <= DIRECT_WITHIN
            else Conversion.AttributionType.CLICK_THROUGH
        )
        return Attribution(
            type=kind,
            message_click=credited,
            message_id=credited.message_id,
            campaign_id=credited.message.campaign_id,
            creative_id=credited.message.creative_id,
        )

    in_window = MessageShortLinkClick.objects.filter(
        contact_id=contact_id,
        clicked_at__gte=start,
        clicked_at__lte=occurred_at,
        **{f"short_link__{k}": v for k, v in scope.items()},
    )
    if in_window.filter(is_bot=False).exists():
        # Tapped again inside the window, but the counted (first) click is older.
        return Attribution(
            type=Conversion.AttributionType.NONE,
            reason=REASON_OLDER % window_days,
        )
    if in_window.exists():
        return Attribution(
            type=Conversion.AttributionType.NONE,
            reason=REASON_BOTS_ONLY % window_days,
        )
    received = (
        MessageShortLink.objects.filter(
            contact_id=contact_id,
            message__sent_at__gte=start,
            message__sent_at__lte=occurred_at,
            **scope,
        )
        .select_related("message")
        .order_by("message__sent_at", "id")
        .first()
    )
    if received is not None:
        return Attribution(
            type=Conversion.AttributionType.VIEW_THROUGH,
            reason=REASON_VIEW_THROUGH,
            message_id=received.message_id,
            campaign_id=received.message.campaign_id,
            creative_id=received.message.creative_id,
        )
    earlier = MessageClick.objects.filter(
        contact_id=contact_id, clicked_at__lt=start, **scope
    ).exists()
    reason = (REASON_OLDER if earlier else REASON_NO_CLICK) % window_days
    return Attribution(type=Conversion.AttributionType.NONE, reason=reason)


def conversions_attribute(cursor: Any, *, first_id: int, last_id: int) -> int:
    """Attribute, in one statement, the accepted contact-level conversions with ids in
    [first_id, last_id] (a bulk load's), inside the caller's transaction. Returns how many
    rows it wrote."""
    return _conversions_attribute(
        cursor, "cv.id BETWEEN %(first)s AND %(last)s", {"first": first_id, "last": last_id}
    )


def conversions_attribute_listed(cursor: Any, *, conversion_ids: list[int]) -> int:
    """Attribute, in one statement, the accepted contact-level conversions among
    `conversion_ids` (an import's new ones: attribution.imports), inside the caller's
    transaction. conversions_attribute for a list rather than a range of ids, so that a
    postback's conversion inserted between them is left alone. Returns how many rows it
    wrote."""
    return _conversions_attribute(cursor, "cv.id = ANY(%(ids)s)", {"ids": conversion_ids})


def _conversions_attribute(cursor: Any, which: str, params: dict[str, Any]) -> int:
    """The set-based UPDATE of both: `which` (a constant condition on `cv`) picks the
    conversions."""
    # Each row is a handful of index lookups; the planner's estimate for thousands of them
    # crosses the JIT threshold, and compiling took longer than the statement (1 s of 1.3).
    cursor.execute("SET LOCAL jit = off")
    source = f"""(
        SELECT cv.id AS key, cv.account_id, cv.contact_id, cv.offer_id,
               rl.message_id, cv.occurred_at
        FROM attribution_conversion cv
        LEFT JOIN links_messageshortlink rl ON rl.id = cv.reported_link_id
        WHERE {which} AND cv.contact_id IS NOT NULL
          AND cv.status = '{Conversion.Status.ACCEPTED.value}'
    )"""  # noqa: S608 - constants
    cursor.execute(
        f"""
        UPDATE attribution_conversion cv
        SET attribution_type = x.attribution_type,
            unattributed_reason = x.unattributed_reason,
            message_click_id = x.message_click_id, raw_click_id = x.raw_click_id,
            message_id = x.message_id, campaign_id = x.campaign_id, creative_id = x.creative_id
        FROM ({attribution_sql(source)}) x
        WHERE cv.id = x.key
        """,  # noqa: S608 - fragments of this module
        {**params, **attribution_params()},
    )
    return cursor.rowcount
