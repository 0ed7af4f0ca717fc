"""Labels on contacts: the one way they change (the API, the dashboard and automations all
call contact_labels_change), re-evaluating the contact's audiences that name a changed
label in the same transaction."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from audiences.membership import contact_audiences_evaluate
from audiences.models import ContactLabel
from core.models import Contact


def contact_labels(contact_id: int) -> list[str]:
    return sorted(ContactLabel.objects.filter(contact_id=contact_id).values_list("name", flat=True))


def contact_labels_change(
    *, contact_id: int, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> list[str]:
    """Add and remove labels on a contact; returns its labels after. A name in both lists is
    added. Idempotent: adding a label it has, or removing one it lacks, changes nothing.
    The contact's audiences whose rule names one of these labels are re-evaluated in the
    same transaction (entered / left events included)."""
    add, remove = list(dict.fromkeys(add)), [n for n in dict.fromkeys(remove) if n not in add]
    with transaction.atomic():
        contact = Contact.objects.only("id", "account_id").get(pk=contact_id)
        ContactLabel.objects.filter(contact_id=contact_id, name__in=remove).delete()
        # Race: the same label added twice at once; the unique (contact, name) keeps one.
        ContactLabel.objects.bulk_create(
            [
                ContactLabel(account_id=contact.account_id, contact_id=contact_id, name=n)
                for n in add
            ],
            ignore_conflicts=True,
        )
        if add or remove:
            contact_audiences_evaluate(
                account_id=contact.account_id, contact_ids=[contact_id], labels=[*add, *remove]
            )
    return contact_labels(contact_id)
