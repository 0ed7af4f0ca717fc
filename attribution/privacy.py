"""What the postback log keeps of an erased contact: the `contact=` values naming it (its
external id, or its phone in any format contacts_find reads) become `[erased]`
(attribution.redaction.erase_values), in the query and the body."""

from __future__ import annotations

from django.db.models import Q

from attribution.models import PostbackLog
from attribution.redaction import erase_values
from core.models import Contact
from links.mint_input import normalize_phone

BATCH = 2000


def postback_log_erase(account_id: int, contact_id: int) -> None:
    """core.hooks.contact_erasing (called before the contact is scrubbed, so its external
    id and phone are still there). The log has no contact column: rows are found by the
    account, the time (none before the contact existed) and a text search for what a
    `contact=` value naming it must contain (the external id, else the phone's last four
    digits, which every format of it shows), then checked value by value."""
    contact = Contact.objects.get(pk=contact_id)
    needles = [contact.external_id]
    if contact.phone:
        needles.append(contact.phone[-4:])
    found = Q()
    for needle in needles:
        found |= Q(query__contains=needle) | Q(body__contains=needle)

    def names_contact(value: str) -> bool:
        if value == contact.external_id:
            return True
        if not contact.phone:
            return False
        try:
            return normalize_phone(value) == contact.phone
        except ValueError:
            return False

    rows = (
        PostbackLog.objects.filter(account_id=account_id, received_at__gte=contact.created_at)
        .filter(Q(query__icontains="contact") | Q(body__icontains="contact"))
        .filter(found)
        .only("pk", "query", "body")
        .order_by("pk")
    )
    last = 0
    while True:
        batch = list(rows.filter(pk__gt=last)[:BATCH])
        if not batch:
            return
        changed = []
        for row in batch:
            query = erase_values(row.query, "contact", names_contact)
            body = erase_values(row.body, "contact", names_contact)
            if (query, body) != (row.query, row.body):
                row.query, row.body = query, body
                changed.append(row)
        PostbackLog.objects.bulk_update(changed, ["query", "body"])
        last = batch[-1].pk
