"""Audiences as automations read them, lazily: the audiences app's Audience and
AudienceMember models are looked up by name (django.apps), so automations work, and refuse
audience triggers, where those models are not installed yet."""

from __future__ import annotations

from django.apps import apps
from django.db.models import Model


def _model(name: str) -> type[Model] | None:
    try:
        return apps.get_model("audiences", name)
    except LookupError:
        return None


def audiences_available() -> bool:
    return _model("Audience") is not None and _model("AudienceMember") is not None


def audience_exists(*, account_id: int, audience_id: int) -> bool:
    """Whether the audience is the account's (False where audiences are not installed)."""
    audience = _model("Audience")
    if audience is None:
        return False
    return audience.objects.filter(pk=audience_id, account_id=account_id).exists()


def audience_names(audience_ids: list[int]) -> dict[int, str]:
    audience = _model("Audience")
    if audience is None or not audience_ids:
        return {}
    return dict(audience.objects.filter(pk__in=audience_ids).values_list("pk", "name"))


def contact_in_audience(*, audience_id: int, contact_id: int) -> bool:
    """Whether the contact is a member of the audience now (False where audiences are not
    installed)."""
    member = _model("AudienceMember")
    if member is None:
        return False
    return member.objects.filter(audience_id=audience_id, contact_id=contact_id).exists()
