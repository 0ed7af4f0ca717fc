"""Which contact a postback's or an import row's `contact` names: the one definition."""

from __future__ import annotations

from collections.abc import Iterable

from core.models import Account, Contact
from links.mint_input import normalize_phone


def contacts_find(account: Account, values: Iterable[str]) -> dict[str, int]:
    """The contacts a postback or an import row names, many values at once: by external id,
    else by phone (any format with a country code; the oldest contact with it). Value ->
    contact id, for the values found."""
    values = set(values)
    found = dict(
        Contact.objects.filter(account=account, external_id__in=values).values_list(
            "external_id", "pk"
        )
    )
    phones: dict[str, str] = {}
    for value in values - set(found):
        try:
            phones[value] = normalize_phone(value)
        except ValueError:
            continue
    by_phone: dict[str, int] = {}
    for phone, pk in (
        Contact.objects.filter(account=account, phone__in=set(phones.values()))
        .order_by("-id")
        .values_list("phone", "pk")
    ):
        by_phone[phone] = pk  # ordered newest first: the oldest is left
    for value, phone in phones.items():
        if phone in by_phone:
            found[value] = by_phone[phone]
    return found


def contact_find(account: Account, value: str) -> Contact | None:
    """contacts_find for one value, as the contact."""
    pk = contacts_find(account, [value]).get(value)
    return Contact.objects.filter(pk=pk).first() if pk is not None else None
