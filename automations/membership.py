"""Audiences as automations read them: whether an audience is the account's, its name, and
whether a contact is a member now (audiences is below automations in the layers)."""

from __future__ import annotations

from audiences.models import Audience, AudienceMember


def audience_exists(*, account_id: int, audience_id: int) -> bool:
    """Whether the audience is the account's."""
    return Audience.objects.filter(pk=audience_id, account_id=account_id).exists()


def audience_names(audience_ids: list[int]) -> dict[int, str]:
    if not audience_ids:
        return {}
    return dict(Audience.objects.filter(pk__in=audience_ids).values_list("pk", "name"))


def contact_in_audience(*, audience_id: int, contact_id: int) -> bool:
    """Whether the contact is a member of the audience now."""
    return AudienceMember.objects.filter(audience_id=audience_id, contact_id=contact_id).exists()
