"""Holdout lift, the one definition: who is treated and who is held out of a campaign, when
a contact converts, and the statistics that compare the two groups.

For campaign C:
- treated: the distinct contacts with a Message of C; holdout: those with a HoldoutMessage
  of C and no Message of C (a contact sent C after all is treated). Testers
  (Contact.is_test) are in neither group: they are not the audience being measured.
- a contact's start is its first message (or holdout) of C;
- C's offers: the offers of the links of C's messages and those C's holdouts named;
- a contact converts when it has an approved conversion (attribution.models.Conversion.
  approved_q) on one of C's offers with occurred_at in [start, start + window], the window
  the offer's click_window_days else the account's (attribution.rules.WINDOW_DAYS); the
  group's revenue is those conversions' revenue.
Counted in one statement, set-based (a campaign may have millions of contacts); PostgreSQL
only (the embedded SQLite default has no jsonb_array_elements_text or make_interval).

Statistics (`lift_figures`, pure): rates, the difference with its Wald 95% interval, the
ratio with its Katz log 95% interval, and the increments over the treated group; null
wherever one is undefined.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, connections

from attribution.models import Conversion
from attribution.rules import window_days_sql
from core.models import Account, Campaign, Contact, HoldoutMessage, Message, Offer
from links.models import MessageShortLink
from reporting.metrics import MONEY_PLACES, RATIO_PLACES

Z95 = 1.96  # the standard normal's 97.5th percentile, as the intervals are usually written
COUNT_PLACES = Decimal("0.01")  # incremental conversions: an estimate, not a count


@dataclass(frozen=True)
class Group:
    contacts: int
    conversions: int  # contacts that converted
    revenue: Decimal  # of the qualifying conversions


def _sql() -> str:
    message, holdout = Message._meta.db_table, HoldoutMessage._meta.db_table
    contact, link = Contact._meta.db_table, MessageShortLink._meta.db_table
    offer, account = Offer._meta.db_table, Account._meta.db_table
    window = window_days_sql(offer="o", account="a")
    # Table names from the models' meta; the approved conversions are the ORM's own
    # statement (Conversion.approved_q), embedded with its parameters.
    return f"""
        WITH treated AS (
            SELECT m.contact_id, MIN(m.sent_at) AS start
            FROM {message} m JOIN {contact} c ON c.id = m.contact_id
            WHERE m.account_id = %s AND m.campaign_id = %s AND NOT c.is_test
            GROUP BY m.contact_id
        ), held AS (
            SELECT h.contact_id, MIN(h.sent_at) AS start
            FROM {holdout} h JOIN {contact} c ON c.id = h.contact_id
            WHERE h.account_id = %s AND h.campaign_id = %s AND NOT c.is_test
              AND NOT EXISTS (
                  SELECT 1 FROM {message} m
                  WHERE m.campaign_id = h.campaign_id AND m.contact_id = h.contact_id
              )
            GROUP BY h.contact_id
        ), grouped AS (
            SELECT 'treated' AS grp, contact_id, start FROM treated
            UNION ALL
            SELECT 'holdout', contact_id, start FROM held
        ), campaign_offers AS (
            SELECT l.offer_id AS id
            FROM {link} l JOIN {message} m ON m.id = l.message_id
            WHERE m.account_id = %s AND m.campaign_id = %s AND l.offer_id IS NOT NULL
            UNION
            SELECT (jsonb_array_elements_text(h.offers::jsonb))::bigint
            FROM {holdout} h WHERE h.account_id = %s AND h.campaign_id = %s
        ), approved AS ({{approved}}), converted AS (
            SELECT g.grp, g.contact_id, SUM(cv.revenue) AS revenue
            FROM grouped g
            JOIN approved cv ON cv.contact_id = g.contact_id
            JOIN campaign_offers co ON co.id = cv.offer_id
            JOIN {offer} o ON o.id = cv.offer_id
            JOIN {account} a ON a.id = o.account_id
            WHERE cv.occurred_at >= g.start
              AND cv.occurred_at <= g.start + make_interval(secs => ({window}) * 86400::float8)
            GROUP BY g.grp, g.contact_id
        )
        SELECT g.grp, COUNT(*), COUNT(cv.contact_id), COALESCE(SUM(cv.revenue), 0)
        FROM grouped g LEFT JOIN converted cv ON cv.grp = g.grp AND cv.contact_id = g.contact_id
        GROUP BY g.grp
    """  # noqa: S608


def lift_groups(campaign: Campaign) -> tuple[Group, Group]:
    """(treated, holdout) of the campaign, by the rule above, in one statement."""
    approved = Conversion.objects.filter(
        Conversion.approved_q(), account_id=campaign.account_id, contact__isnull=False
    ).values("contact_id", "offer_id", "revenue", "occurred_at")
    approved_sql, approved_params = approved.query.sql_with_params()
    ids = [campaign.account_id, campaign.pk]
    sql = _sql().replace("{approved}", approved_sql)
    # The database the router reads Conversion from: the replica in the lift report.
    with connections[approved.db].cursor() as cursor:
        cursor.execute(sql, [*ids, *ids, *ids, *ids, *approved_params])
        rows = {grp: Group(int(n), int(x), Decimal(rev)) for grp, n, x, rev in cursor.fetchall()}
    empty = Group(0, 0, Decimal(0))
    return rows.get("treated", empty), rows.get("holdout", empty)


def _rate(x: int | Decimal, n: int) -> Decimal | None:
    return Decimal(x) / Decimal(n) if n else None


def _places(value: Decimal | float | None, places: Decimal) -> str | None:
    if value is None:
        return None
    return str(Decimal(value).quantize(places, ROUND_HALF_UP))


def wald_interval(x_t: int, n_t: int, x_h: int, n_h: int) -> tuple[float, float] | None:
    """The 95% Wald interval of p_t - p_h: diff ± z * sqrt(p_t(1-p_t)/n_t + p_h(1-p_h)/n_h)."""
    if not n_t or not n_h:
        return None
    p_t, p_h = x_t / n_t, x_h / n_h
    half = Z95 * math.sqrt(p_t * (1 - p_t) / n_t + p_h * (1 - p_h) / n_h)
    return p_t - p_h - half, p_t - p_h + half


def katz_interval(x_t: int, n_t: int, x_h: int, n_h: int) -> tuple[float, float] | None:
    """The 95% Katz log interval of the relative lift RR - 1, RR = p_t / p_h:
    exp(ln RR ± z * sqrt(1/x_t - 1/n_t + 1/x_h - 1/n_h)) - 1; undefined without a
    conversion in each group."""
    if not (x_t and n_t and x_h and n_h):
        return None
    log_rr = math.log((x_t / n_t) / (x_h / n_h))
    half = Z95 * math.sqrt(1 / x_t - 1 / n_t + 1 / x_h - 1 / n_h)
    return math.exp(log_rr - half) - 1, math.exp(log_rr + half) - 1


def _group_out(group: Group) -> dict[str, Any]:
    return {
        "contacts": group.contacts,
        "conversions": group.conversions,
        "conversion_rate": _places(_rate(group.conversions, group.contacts), RATIO_PLACES),
        "revenue_per_contact": _places(_rate(group.revenue, group.contacts), MONEY_PLACES),
    }


def _pair(interval: tuple[float, float] | None) -> list[str | None]:
    if interval is None:
        return [None, None]
    return [_places(interval[0], RATIO_PLACES), _places(interval[1], RATIO_PLACES)]


def lift_figures(treated: Group, holdout: Group) -> dict[str, Any]:
    """The lift report from the two groups: rates to four places, money to the cent (as
    reporting.metrics.present shows them), null wherever a figure is undefined."""
    n_t, x_t, n_h, x_h = (
        treated.contacts,
        treated.conversions,
        holdout.contacts,
        holdout.conversions,
    )
    rate_t, rate_h = _rate(x_t, n_t), _rate(x_h, n_h)
    rpc_t, rpc_h = _rate(treated.revenue, n_t), _rate(holdout.revenue, n_h)
    both = rate_t is not None and rate_h is not None
    absolute = rate_t - rate_h if both else None  # type: ignore[operator]
    relative = rate_t / rate_h - 1 if both and rate_h else None  # type: ignore[operator]
    return {
        "treated": _group_out(treated),
        "holdout": _group_out(holdout),
        "lift": {
            "absolute": _places(absolute, RATIO_PLACES),
            "relative": _places(relative, RATIO_PLACES),
            "absolute_ci95": _pair(wald_interval(x_t, n_t, x_h, n_h)),
            "relative_ci95": _pair(katz_interval(x_t, n_t, x_h, n_h)),
        },
        "incremental_conversions": _places(absolute * n_t if both else None, COUNT_PLACES),  # type: ignore[operator]
        "incremental_revenue": _places((rpc_t - rpc_h) * n_t if both else None, MONEY_PLACES),  # type: ignore[operator]
    }


def lift_available() -> bool:
    """Whether this database runs the lift statement (PostgreSQL; not the embedded SQLite)."""
    return connection.vendor == "postgresql"


def campaign_lift(campaign: Campaign) -> dict[str, Any] | None:
    """The lift report of a campaign (GET /api/v1/reports/lift, the campaign page); None
    where the database cannot run it (lift_available)."""
    if not lift_available():
        return None
    return lift_figures(*lift_groups(campaign))
