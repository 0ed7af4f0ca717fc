"""Which conversions the figures count, and as what, defined once:

- approved (attribution's `Conversion.approved_q`: accepted and approval `approved`),
  credited through a click (direct or click-through): `conversions`, `revenue`, `payout`;
- approved view-through (received the offer, never clicked): `view_through_*`, kept apart;
- pending approval (accepted, approval `pending`), credited through a click:
  `pending_conversions`, `pending_revenue` only;
- rejected and reversed ones: nowhere.

The rollups (reporting.rollup_rows) and the message summary of the API and dashboard read
them from here; `CREDIT` says which figure each kind of conversion adds to.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from attribution.models import Conversion

CLICK_CREDIT = (Conversion.AttributionType.DIRECT, Conversion.AttributionType.CLICK_THROUGH)
VIEW_THROUGH = Conversion.AttributionType.VIEW_THROUGH

# kind -> what each of its conversions adds: (count figure, revenue figure, payout figure);
# None: that amount counts nowhere.
CREDIT: dict[str, tuple[str, str, str | None]] = {
    "credited": ("conversions", "revenue", "payout"),
    "view_through": ("view_through_conversions", "view_through_revenue", "view_through_payout"),
    "pending": ("pending_conversions", "pending_revenue", None),
}


def credited_q(prefix: str = "") -> Q:
    """Approved conversions credited through a click."""
    return Conversion.approved_q(prefix) & Q(**{f"{prefix}attribution_type__in": CLICK_CREDIT})


def view_through_q(prefix: str = "") -> Q:
    """Approved view-through conversions."""
    return Conversion.approved_q(prefix) & Q(**{f"{prefix}attribution_type": VIEW_THROUGH})


def pending_q(prefix: str = "") -> Q:
    """Accepted conversions awaiting approval, credited through a click."""
    return Q(
        **{
            f"{prefix}status": Conversion.Status.ACCEPTED,
            f"{prefix}approval": Conversion.Approval.PENDING,
            f"{prefix}attribution_type__in": CLICK_CREDIT,
        }
    )


KIND_Q = {"credited": credited_q, "view_through": view_through_q, "pending": pending_q}


def counted_conversions() -> QuerySet[Conversion]:
    """Every conversion some figure counts (CREDIT's kinds)."""
    return Conversion.objects.filter(credited_q() | view_through_q() | pending_q())


def conversion_kind(attribution_type: str, approval: str) -> str:
    """The CREDIT kind of one of counted_conversions(), from its grouped columns."""
    if approval == Conversion.Approval.PENDING:
        return "pending"
    return "view_through" if attribution_type == VIEW_THROUGH else "credited"


def click_credited_conversions() -> QuerySet[Conversion]:
    """Approved conversions credited through a click."""
    return Conversion.objects.filter(credited_q())


def view_through_conversions() -> QuerySet[Conversion]:
    return Conversion.objects.filter(view_through_q())


def pending_conversions() -> QuerySet[Conversion]:
    return Conversion.objects.filter(pending_q())
