"""Which conversions the figures count, and as what: accepted ones, credited through a click
(direct or click-through: `conversions`, `revenue`) or view-through (kept apart). The
rollups and the message summary of the API and dashboard read them from here."""

from __future__ import annotations

from django.db.models import QuerySet

from attribution.models import Conversion

CLICK_CREDIT = (Conversion.AttributionType.DIRECT, Conversion.AttributionType.CLICK_THROUGH)
VIEW_THROUGH = Conversion.AttributionType.VIEW_THROUGH


def counted_conversions() -> QuerySet[Conversion]:
    """The conversions reports count: accepted, credited through a click or view-through."""
    return Conversion.objects.filter(
        status=Conversion.Status.ACCEPTED, attribution_type__in=(*CLICK_CREDIT, VIEW_THROUGH)
    )


def click_credited_conversions() -> QuerySet[Conversion]:
    """The counted conversions credited through a click."""
    return counted_conversions().filter(attribution_type__in=CLICK_CREDIT)


def view_through_conversions() -> QuerySet[Conversion]:
    return counted_conversions().filter(attribution_type=VIEW_THROUGH)
