"""Minting: messages in, short links and rewritten bodies out."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, models, transaction

from links import ids
from links.mint_input import Errors, MessageInput, parse_message
from links.models import MessageShortLink, TrackingDomain
from links.rewrite import Binding, Plan, plan_html, plan_sms, render
from links.segments import sms_segments
from trackly.models import Account, Campaign, Contact, Creative, Message, Offer, SendingList

logger = logging.getLogger(__name__)

MINT_ATTEMPTS = 5


class MintInvalid(Exception):
    """Some items are bad; nothing was created. `errors` maps item index to field errors."""

    def __init__(self, errors: dict[int, Errors]) -> None:
        super().__init__(f"{len(errors)} invalid item(s)")
        self.errors = errors


class NoTrackingDomain(Exception):
    pass


@dataclass
class _Prepared:
    item: MessageInput
    plan: Plan
    offers: dict[str, Offer | None]  # link name -> offer


def primary_tracking_domain(account: Account) -> TrackingDomain | None:
    return account.tracking_domains.filter(is_active=True).order_by("-is_primary", "id").first()


def tracking_domain_for(account: Account) -> TrackingDomain:
    domain = primary_tracking_domain(account)
    if domain is None:
        raise NoTrackingDomain(
            f"Account {account.pk} has no active tracking domain: add one (Django admin, "
            "Accounts > Tracking domains) before minting links."
        )
    return domain


def messages_mint(*, account: Account, items: list[Any]) -> list[dict[str, Any]]:
    """Parse, validate and mint a batch of messages, all or nothing.

    Returns one result per item, in order. Raises MintInvalid naming every bad field of
    every bad item, or NoTrackingDomain.
    """
    parsed: list[MessageInput] = []
    errors: dict[int, Errors] = {}
    for index, data in enumerate(items):
        item, item_errors = parse_message(data)
        if item_errors:
            errors[index] = item_errors
        else:
            parsed.append(item)  # type: ignore[arg-type]
    if errors:
        raise MintInvalid(errors)

    prepared = _prepare(account, parsed)  # raises MintInvalid
    domain = tracking_domain_for(account)

    for attempt in range(1, MINT_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _mint(account, domain, prepared)
        except IntegrityError:
            # Races the database settled for us: another request minted the same external
            # id, or drew the same link id, between our checks and our insert. Run again:
            # the existing message is now found and returned; a link id is drawn anew.
            if attempt == MINT_ATTEMPTS:
                raise
            logger.info("mint: integrity conflict, retrying (attempt %d)", attempt)
    raise AssertionError("unreachable")


def _prepare(account: Account, items: list[MessageInput]) -> list[_Prepared]:
    offers_by_ref = _offers_by_ref(account, items)
    is_opt_out = account.is_opt_out_url
    errors: dict[int, Errors] = {}
    prepared: list[_Prepared] = []
    for index, item in enumerate(items):
        item_errors: Errors = {}
        link_offers: dict[str, Offer | None] = {}
        bindings: dict[str, Binding] = {}
        for name, link in item.links.items():
            offer = None
            if link.offer is not None:
                offer = offers_by_ref.get(str(link.offer))
                if offer is None:
                    item_errors.setdefault(f"links.{name}.offer", []).append(
                        f"Unknown offer {link.offer!r}."
                    )
                    continue
            link_offers[name] = offer
            url = link.url or (offer.destination_url if offer else "")
            bindings[name] = Binding(url=url, track=link.track)
        planner = plan_html if item.channel == Message.Channel.EMAIL else plan_sms
        plan = planner(item.body, bindings, is_opt_out)
        if item_errors:
            errors[index] = item_errors
        else:
            prepared.append(_Prepared(item=item, plan=plan, offers=link_offers))
    if errors:
        raise MintInvalid(errors)
    return prepared


def _offers_by_ref(account: Account, items: list[MessageInput]) -> dict[str, Offer]:
    refs = {
        str(link.offer) for item in items for link in item.links.values() if link.offer is not None
    }
    if not refs:
        return {}
    int_refs = [int(r) for r in refs if r.isdigit() and len(r) < 19]
    found = Offer.objects.filter(account=account).filter(
        models.Q(external_id__in=refs) | models.Q(pk__in=int_refs)
    )
    by_ref: dict[str, Offer] = {}
    for offer in found:
        by_ref.setdefault(str(offer.pk), offer)
        if offer.external_id:
            by_ref[offer.external_id] = offer  # an external id beats a numeric id
    return by_ref


def _mint(
    account: Account, domain: TrackingDomain, prepared: list[_Prepared]
) -> list[dict[str, Any]]:
    # Idempotency: an external id seen before returns the message minted then.
    external_ids = {p.item.external_id for p in prepared if p.item.external_id}
    existing: dict[str, Message] = {}
    if external_ids:
        for message in (
            Message.objects.filter(account=account, external_id__in=external_ids)
            .select_related("contact")
            .prefetch_related("links")
        ):
            existing[message.external_id] = message  # type: ignore[index]

    new: list[_Prepared] = []
    seen: set[str] = set()
    for p in prepared:
        ext = p.item.external_id
        if ext and (ext in existing or ext in seen):
            continue
        if ext:
            seen.add(ext)
        new.append(p)

    results_by_ext: dict[str, dict[str, Any]] = {}
    new_results = _mint_new(account, domain, new) if new else []
    for p, result in zip(new, new_results, strict=True):
        if p.item.external_id:
            results_by_ext[p.item.external_id] = result
    for ext, message in existing.items():
        results_by_ext[ext] = message_result(message, domain, list(message.links.all()))

    results: list[dict[str, Any]] = []
    new_iter = iter(new_results)
    for p in prepared:
        ext = p.item.external_id
        results.append(results_by_ext[ext] if ext else next(new_iter))
    return results


def _mint_new(
    account: Account, domain: TrackingDomain, new: list[_Prepared]
) -> list[dict[str, Any]]:
    contacts = _contacts_upsert(account, [p.item for p in new])
    lists = _dimension_resolve(SendingList, account, {p.item.list_ref for p in new})
    campaigns = _dimension_resolve(Campaign, account, {p.item.campaign_ref for p in new})
    creatives = _dimension_resolve(
        Creative,
        account,
        {p.item.creative_ref for p in new},
        defaults={
            p.item.creative_ref: {"campaign": campaigns.get(p.item.campaign_ref)}
            for p in new
            if p.item.creative_ref
        },
    )

    link_names = [name for p in new for name in p.plan.links]
    link_ids = _link_ids_draw(len(link_names))
    messages: list[Message] = []
    link_rows: list[tuple[int, str, str, Offer | None, str]] = []  # (message index, ...)
    cursor = 0
    for index, p in enumerate(new):
        short_urls: dict[str, str] = {}
        for name, url in p.plan.links.items():
            link_id = link_ids[cursor]
            cursor += 1
            short_urls[name] = domain.short_url(link_id)
            link_rows.append((index, name, link_id, p.offers.get(name), url))
        body = render(p.plan.pieces, short_urls)
        item = p.item
        messages.append(
            Message(
                account=account,
                external_id=item.external_id,
                contact=contacts[item.contact.external_id],
                sending_list=lists.get(item.list_ref),
                campaign=campaigns.get(item.campaign_ref),
                creative=creatives.get(item.creative_ref),
                channel=item.channel,
                body=item.body,
                rewritten_body=body,
                segments=sms_segments(body) if item.channel == Message.Channel.SMS else None,
                sent_at=item.sent_at,
            )
        )
    Message.objects.bulk_create(messages, batch_size=2000)

    links_by_message: list[list[MessageShortLink]] = [[] for _ in messages]
    rows: list[MessageShortLink] = []
    for index, name, link_id, offer, url in link_rows:
        message = messages[index]
        link = MessageShortLink(
            link_id=link_id,
            account=account,
            message=message,
            contact_id=message.contact_id,
            offer=offer,
            name=name,
            destination_url=url,
        )
        rows.append(link)
        links_by_message[index].append(link)
    MessageShortLink.objects.bulk_create(rows, batch_size=5000)
    return [
        message_result(message, domain, links)
        for message, links in zip(messages, links_by_message, strict=True)
    ]


def _link_ids_draw(count: int, new_id: Callable[[], str] | None = None) -> list[str]:
    """`count` fresh link ids, none already stored. A collision is drawn again, never shown.

    Two concurrent requests drawing the same id is still possible after this check; the
    unique constraint on link_id catches it and messages_mint runs the batch again.
    """
    new_id = new_id or ids.new_link_id
    drawn: list[str] = [new_id() for _ in range(count)]
    while True:
        taken = _stored_link_ids(drawn)
        duplicates = len(drawn) - len(set(drawn))
        if not taken and not duplicates:
            return drawn
        seen: set[str] = set()
        for i, link_id in enumerate(drawn):
            while link_id in taken or link_id in seen:
                link_id = new_id()
            drawn[i] = link_id
            seen.add(link_id)


def _stored_link_ids(candidates: list[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(candidates), 5000):
        chunk = candidates[start : start + 5000]
        taken.update(
            MessageShortLink.objects.filter(link_id__in=chunk).values_list("link_id", flat=True)
        )
    return taken


def _contacts_upsert(account: Account, items: Iterable[MessageInput]) -> dict[str, Contact]:
    wanted: dict[str, tuple[str, str]] = {}
    for item in items:
        c = item.contact
        phone, email = wanted.get(c.external_id, ("", ""))
        wanted[c.external_id] = (c.phone or phone, c.email or email)
    found = {
        c.external_id: c
        for c in _in_chunks(Contact.objects.filter(account=account), "external_id", wanted)
    }
    missing = [key for key in wanted if key not in found]
    if missing:
        # ignore_conflicts: a concurrent mint may create the same contact first; either way
        # there is one row, which the select below finds.
        Contact.objects.bulk_create(
            [
                Contact(account=account, external_id=k, phone=wanted[k][0], email=wanted[k][1])
                for k in missing
            ],
            ignore_conflicts=True,
            batch_size=2000,
        )
        found.update(
            {
                c.external_id: c
                for c in _in_chunks(Contact.objects.filter(account=account), "external_id", missing)
            }
        )
    changed: list[Contact] = []
    for key, (phone, email) in wanted.items():
        contact = found[key]
        if (phone and phone != contact.phone) or (email and email != contact.email):
            contact.phone = phone or contact.phone
            contact.email = email or contact.email
            changed.append(contact)
    if changed:
        Contact.objects.bulk_update(changed, ["phone", "email"], batch_size=1000)
    return found


def _in_chunks(
    queryset: models.QuerySet, field: str, values: Iterable[str], size: int = 5000
) -> list:
    values = list(values)
    rows: list = []
    for start in range(0, len(values), size):
        rows.extend(queryset.filter(**{f"{field}__in": values[start : start + size]}))
    return rows


def _dimension_resolve(
    model: type[SendingList] | type[Campaign] | type[Creative],
    account: Account,
    refs: set[str | None],
    defaults: dict[str, dict[str, Any]] | None = None,
) -> dict[str | None, Any]:
    """Lists, campaigns and creatives by external id or name, created on first use."""
    refs = {r for r in refs if r}
    if not refs:
        return {}

    def lookup() -> dict[str | None, Any]:
        by_ref: dict[str | None, Any] = {}
        for obj in model.objects.filter(account=account).filter(
            models.Q(external_id__in=refs) | models.Q(name__in=refs)
        ):
            if obj.name in refs:
                by_ref.setdefault(obj.name, obj)
            if obj.external_id in refs:
                by_ref[obj.external_id] = obj  # an external id beats a name
        return by_ref

    found = lookup()
    missing = refs - set(found)
    if missing:
        # ignore_conflicts: two first uses of one name at once still make one row.
        model.objects.bulk_create(
            [model(account=account, name=r, **(defaults or {}).get(r, {})) for r in missing],
            ignore_conflicts=True,
        )
        found = lookup()
    return found


def message_result(
    message: Message, domain: TrackingDomain | None, links: list[MessageShortLink]
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "id": message.pk,
        "external_id": message.external_id,
        "contact": {"id": message.contact_id, "external_id": message.contact.external_id},
        "channel": message.channel,
        "sent_at": message.sent_at.isoformat().replace("+00:00", "Z"),
        "body": message.rewritten_body,
        "links": [
            {
                "name": link.name,
                "link_id": link.link_id,
                "short_url": domain.short_url(link.link_id) if domain else None,
                "destination": link.destination_url,
                "offer": link.offer_id,
            }
            for link in links
        ],
    }
    if message.channel == Message.Channel.SMS:
        result["segments"] = message.segments
    return result
