"""Erasing a contact: what Trackly keeps of a person goes, and their figures stay.

The Contact row stays, scrubbed (phone, email and external id), because counted clicks,
conversions and rollups name it and report figures must not change; `erased_at` makes it
invisible (its detail and journey answer 404), and the external id is freed, so a message
minted later for that phone or external id makes a new contact. Core scrubs its own tables
(the contact, its messages' bodies, the events naming it: webhook deliveries are built
from those events, so they carry nothing else); the apps above scrub theirs through
`core.hooks.contact_erasing`. One transaction per contact; an erasure record and a
`contact.erased` event are written in it.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from core import hooks
from core.events import event_emit, event_timestamp
from core.models import ApiKey, Contact, ContactErasure, Message
from core.models.events import Event

# Rows changed a statement: a contact with a million messages or events is scrubbed in
# batches, so no statement holds a huge row set (all in the one transaction).
BATCH = 5000
# What an erased contact's external id becomes: unique per contact, naming nobody.
ERASED_EXTERNAL_ID = "erased:{pk}"
# Keys of event payloads that could name a person (a contact, a click's request).
PERSONAL_KEYS = ("phone", "email", "external_id", "ip", "user_agent", "referer")


def contact_erase(
    *, contact: Contact, api_key: ApiKey | None, lookup: str
) -> ContactErasure | None:
    """Erase `contact`; None when it was already erased (idempotent: nothing is written
    twice). Race: two erasures of one contact at once: the contact's row lock makes the
    second wait and then find it erased."""
    with transaction.atomic():
        locked = Contact.objects.select_for_update().get(pk=contact.pk)
        if locked.erased_at is not None:
            return None
        now = timezone.now()
        # First the apps above: their receivers may read the contact as it was (the
        # postback log is searched for its external id and phone).
        hooks.contact_erasing.send(locked.account_id, locked.pk)
        Contact.objects.filter(pk=locked.pk).update(
            external_id=ERASED_EXTERNAL_ID.format(pk=locked.pk), phone="", email="", erased_at=now
        )
        batched_update(
            Message.objects.filter(contact_id=locked.pk).exclude(body="", rewritten_body=""),
            body="",
            rewritten_body="",
        )
        _events_scrub(locked.account_id, locked.pk)
        erasure = ContactErasure.objects.create(
            account_id=locked.account_id,
            contact_id=locked.pk,
            lookup=lookup,
            api_key_id=api_key.pk if api_key else None,
            api_key_prefix=api_key.prefix if api_key else "",
            erased_at=now,
        )
        event_emit(
            account_id=locked.account_id,
            type="contact.erased",
            data={"contact": {"id": locked.pk}, "erased_at": event_timestamp(now)},
            occurred_at=now,
        )
    contact.refresh_from_db()
    return erasure


def batched_update(queryset: QuerySet, **changes: object) -> int:
    """UPDATE the rows of `queryset` BATCH at a time (by id); the queryset must exclude
    rows already changed, so the loop ends."""
    total = 0
    while True:
        ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:BATCH])
        if not ids:
            return total
        total += queryset.model.objects.filter(pk__in=ids).update(**changes)


def _events_scrub(account_id: int, contact_id: int) -> None:
    """Events naming the contact keep their type, ids and times (consumers and replays
    still make sense of them); the personal fields go, at the top and a level down."""
    events = Event.objects.filter(account_id=account_id, data__contact__id=contact_id)
    last = 0
    while True:
        batch = list(events.filter(pk__gt=last).order_by("pk")[:BATCH])
        if not batch:
            return
        for event in batch:
            event.data = _scrubbed(event.data)
        Event.objects.bulk_update(batch, ["data"])
        last = batch[-1].pk


def _scrubbed(data: object) -> object:
    if isinstance(data, dict):
        return {
            key: ("" if key in PERSONAL_KEYS and value else _scrubbed(value))
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [_scrubbed(item) for item in data]
    return data
