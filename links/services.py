"""Minting: messages in, short links and rewritten bodies out (the answer's shape is
links.responses; click writes are links.clicks). Over 400 lines because minting is one
all-or-nothing workflow (parse, prepare, idempotency, contacts and dimensions, bulk
inserts) under one transaction and retry; its helpers serve nothing else.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, models, transaction
from django.utils import timezone

from core import bounds
from core.models import (
    Account,
    Campaign,
    Contact,
    Creative,
    HoldoutMessage,
    Message,
    Offer,
    SendingList,
    TrackingDomain,
)
from links import bulk, ids
from links.internal import contacts_is_test_set
from links.mint_input import Errors, MessageInput, parse_message
from links.models import MessageShortLink
from links.resolve import links_cache
from links.responses import (
    holdout_result,
    link_result,
    message_result,
    message_result_from_parts,
)
from links.rewrite import Binding, Plan, plan_html, plan_sms, render
from links.routing import variant_pick
from links.segments import sms_segments

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
        except (IntegrityError, OperationalError) as exc:
            # Races the database settled for us: another request minted the same external
            # id, or drew the same link id, between our checks and our insert; or two bulk
            # mints touching the same contacts deadlocked and one was chosen to fail. Run
            # again: the existing message is found and returned; a link id is drawn anew.
            if attempt == MINT_ATTEMPTS or (
                isinstance(exc, OperationalError) and not _is_retryable(exc)
            ):
                raise
            logger.info("mint: integrity conflict, retrying (attempt %d)", attempt)
    raise AssertionError("unreachable")


def _is_retryable(exc: OperationalError) -> bool:
    # deadlock_detected, serialization_failure
    return getattr(exc.__cause__, "sqlstate", None) in ("40P01", "40001")


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
        if len(plan.links) > bounds.MAX_LINKS_PER_MESSAGE:
            # Counted after planning: bare URLs and hrefs are tracked links too.
            item_errors.setdefault("body", []).append(
                f"At most {bounds.MAX_LINKS_PER_MESSAGE} tracked links per message; this body "
                f"has {len(plan.links)}."
            )
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
    int_refs = [int(r) for r in refs if r.isascii() and r.isdigit() and len(r) < 19]
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
    # Idempotency: an external id seen before returns what was minted (or held out) then.
    # Messages and holdouts are kept apart, each unique by external id in its own table.
    existing_sends = _existing_sends(account, prepared)
    existing_holdouts = _existing_holdouts(account, prepared)

    new: list[_Prepared] = []
    seen: set[tuple[bool, str]] = set()
    for p in prepared:
        key = _key(p)
        if key and (key in seen or key[1] in (existing_holdouts if key[0] else existing_sends)):
            continue
        if key:
            seen.add(key)
        new.append(p)

    sends = [p for p in new if not p.item.holdout]
    holdouts = [p for p in new if p.item.holdout]
    refs = _refs_resolve(account, new)
    minted = dict(zip(map(id, sends), _sends_mint(account, domain, sends, refs), strict=True))
    held = dict(zip(map(id, holdouts), _holdouts_record(account, holdouts, refs), strict=True))
    sends_by_key = {key: minted[id(p)] for p in sends if (key := _key(p))}
    for ext, message in existing_sends.items():
        sends_by_key[(False, ext)] = message_result(message, domain, list(message.links.all()))
    holdouts_by_key = {key: held[id(p)] for p in holdouts if (key := _key(p))}
    for ext, holdout in existing_holdouts.items():
        holdouts_by_key[(True, ext)] = holdout
    # An item with an external id answers with that id's message (minted now, earlier in
    # this batch, or before); one without answers with its own. A holdout answers with its
    # body unchanged: nothing in it was rewritten.
    results = []
    for p in prepared:
        key = _key(p)
        if p.item.holdout:
            holdout = holdouts_by_key[key] if key else held[id(p)]
            results.append(holdout_result(holdout, p.item.body))
        else:
            results.append(sends_by_key[key] if key else minted[id(p)])
    return results


def _key(p: _Prepared) -> tuple[bool, str] | None:
    return (p.item.holdout, p.item.external_id) if p.item.external_id else None


def _existing_sends(account: Account, prepared: list[_Prepared]) -> dict[str, Message]:
    external_ids = {
        p.item.external_id for p in prepared if p.item.external_id and not p.item.holdout
    }
    if not external_ids:
        return {}
    queryset = bulk.values_in(
        Message.objects.filter(account=account), "external_id", list(external_ids)
    )
    return {
        message.external_id: message  # type: ignore[misc]
        for message in queryset.select_related("contact").prefetch_related("links")
    }


def _existing_holdouts(account: Account, prepared: list[_Prepared]) -> dict[str, HoldoutMessage]:
    external_ids = {p.item.external_id for p in prepared if p.item.external_id and p.item.holdout}
    if not external_ids:
        return {}
    queryset = bulk.values_in(
        HoldoutMessage.objects.filter(account=account), "external_id", list(external_ids)
    )
    return {holdout.external_id: holdout for holdout in queryset.select_related("contact")}  # type: ignore[misc]


@dataclass
class _Refs:
    """What a batch's new items name, resolved once for all of them (no query per item)."""

    contacts: dict[str, tuple[int, str]]  # contact external id -> (id, phone)
    lists: dict[str | None, Any]
    campaigns: dict[str | None, Any]
    creatives: dict[str | None, Any]


def _refs_resolve(account: Account, new: list[_Prepared]) -> _Refs:
    """The batch's contacts upserted and its lists, campaigns and creatives resolved, for
    sends and holdouts alike."""
    if not new:
        return _Refs(contacts={}, lists={}, campaigns={}, creatives={})
    campaigns = _dimension_resolve(Campaign, account, {p.item.campaign_ref for p in new})
    return _Refs(
        contacts=_contacts_upsert(account, [p.item for p in new]),
        lists=_dimension_resolve(SendingList, account, {p.item.list_ref for p in new}),
        campaigns=campaigns,
        creatives=_dimension_resolve(
            Creative,
            account,
            {p.item.creative_ref for p in new},
            defaults={
                p.item.creative_ref: {"campaign": campaigns.get(p.item.campaign_ref)}
                for p in new
                if p.item.creative_ref
            },
        ),
    )


def _sends_mint(
    account: Account, domain: TrackingDomain, new: list[_Prepared], refs: _Refs
) -> list[dict[str, Any]]:
    if not new:
        return []
    now = timezone.now()
    link_ids = iter(_link_ids_draw(sum(len(p.plan.links) for p in new)))
    message_rows: list[tuple[Any, ...]] = []
    link_rows: list[list[Any]] = []  # message_id filled in once ids are known
    results: list[dict[str, Any]] = []
    for p in new:
        item = p.item
        links_out: list[dict[str, Any]] = []
        short_urls: dict[str, str] = {}
        for name, url in p.plan.links.items():
            link_id = next(link_ids)
            short_urls[name] = domain.short_url(link_id)
            offer = p.offers.get(name)
            offer_id = offer.pk if offer else None
            link_rows.append([link_id, len(message_rows), name, url, offer])
            links_out.append(link_result(domain, name, link_id, url, offer_id))
        body = render(p.plan.pieces, short_urls)
        segments = sms_segments(body) if item.channel == Message.Channel.SMS else None
        contact_id, phone = refs.contacts[item.contact.external_id]
        # Fixed now, by the account's rates of this moment (core.costs), unless given.
        cost = item.cost
        if cost is None:
            cost = account.message_cost(channel=item.channel, segments=segments, phone=phone)
        message_rows.append(
            (
                item.external_id,
                contact_id,
                _pk(refs.lists.get(item.list_ref)),
                _pk(refs.campaigns.get(item.campaign_ref)),
                _pk(refs.creatives.get(item.creative_ref)),
                item.channel,
                item.body,
                body,
                segments,
                cost,
                item.sent_at,
            )
        )
        results.append(
            message_result_from_parts(
                None,
                item.external_id,
                contact_id,
                item.contact.external_id,
                item.channel,
                item.sent_at,
                body,
                segments,
                links_out,
                cost,
            )
        )

    message_ids = _messages_insert(account, message_rows, now)
    for result, message_id in zip(results, message_ids, strict=True):
        result["id"] = message_id
    link_insert_rows = []
    for link_id, index, name, url, offer in link_rows:
        message_id, contact_id = message_ids[index], message_rows[index][1]
        # The A/B variant, drawn now from the offer's weights of this moment (loaded with
        # the offer: no query per link).
        variant = variant_pick(offer.variants, contact_id, message_id) if offer else ""
        offer_id = offer.pk if offer else None
        link_insert_rows.append((link_id, message_id, contact_id, offer_id, name, url, variant))
    _links_insert(account, link_insert_rows, now)
    # Once committed (never for an attempt rolled back and run again): the links in the
    # shared cache, so a blast's first taps wait on no SQL. `robust`: the mint is
    # committed, so a failure there is logged, never the request's answer.
    minted_ids = [row[0] for row in link_insert_rows]
    transaction.on_commit(
        functools.partial(links_cache, minted_ids, seconds=settings.MINT_CACHE_SECONDS),
        robust=True,
    )
    return results


def _holdouts_record(account: Account, new: list[_Prepared], refs: _Refs) -> list[HoldoutMessage]:
    """The holdouts of a batch in one INSERT: their links were checked (links.rewrite's
    plan, by _prepare) but none is minted; they keep the offers those links name, the ones
    the lift report lets a holdout contact convert on."""
    if not new:
        return []
    now = timezone.now()
    holdouts = [
        HoldoutMessage(
            account=account,
            external_id=p.item.external_id,
            # The contact as the answer names it, with no query to load it.
            contact=Contact(
                pk=refs.contacts[p.item.contact.external_id][0],
                account=account,
                external_id=p.item.contact.external_id,
            ),
            sending_list=refs.lists.get(p.item.list_ref),
            campaign=refs.campaigns.get(p.item.campaign_ref),
            creative=refs.creatives.get(p.item.creative_ref),
            channel=p.item.channel,
            offers=sorted({offer.pk for offer in p.offers.values() if offer is not None}),
            sent_at=p.item.sent_at,
            created_at=now,
        )
        for p in new
    ]
    # A concurrent mint of the same external id fails the unique constraint here and
    # messages_mint runs the batch again, which then finds it.
    HoldoutMessage.objects.bulk_create(holdouts, batch_size=2000)
    return holdouts


def _pk(obj: models.Model | None) -> int | None:
    return obj.pk if obj is not None else None


MESSAGE_FIELDS = (
    "external_id", "contact_id", "sending_list_id", "campaign_id", "creative_id",
    "channel", "body", "rewritten_body", "segments", "cost", "sent_at",
)  # fmt: skip
LINK_FIELDS = (
    "link_id", "message_id", "contact_id", "offer_id", "name", "destination_url", "variant",
)  # fmt: skip


def _messages_insert(account: Account, rows: list[tuple[Any, ...]], now: dt.datetime) -> list[int]:
    if bulk.is_postgres():
        ids = bulk.reserve_ids(Message, len(rows))
        bulk.insert_rows(
            Message,
            ("id", "account_id", "created_at", *MESSAGE_FIELDS),
            [(i, account.pk, now, *row) for i, row in zip(ids, rows, strict=True)],
        )
        return ids
    messages = [
        Message(account=account, created_at=now, **dict(zip(MESSAGE_FIELDS, row, strict=True)))
        for row in rows
    ]
    Message.objects.bulk_create(messages, batch_size=500)
    return [m.pk for m in messages]


def _links_insert(account: Account, rows: list[tuple[Any, ...]], now: dt.datetime) -> None:
    if bulk.is_postgres():
        bulk.insert_rows(
            MessageShortLink,
            ("account_id", "created_at", *LINK_FIELDS),
            [(account.pk, now, *row) for row in rows],
        )
        return
    MessageShortLink.objects.bulk_create(
        [
            MessageShortLink(
                account=account, created_at=now, **dict(zip(LINK_FIELDS, row, strict=True))
            )
            for row in rows
        ],
        batch_size=500,
    )


def _link_ids_draw(count: int) -> list[str]:
    """`count` fresh link ids, none already stored. A collision is drawn again, never shown.

    Two concurrent requests drawing the same id is still possible after this check; the
    unique constraint on link_id catches it and messages_mint runs the batch again.
    """
    drawn: list[str] = [ids.new_link_id() for _ in range(count)]
    while True:
        taken = _stored_link_ids(drawn)
        duplicates = len(drawn) - len(set(drawn))
        if not taken and not duplicates:
            return drawn
        seen: set[str] = set()
        for i, link_id in enumerate(drawn):
            while link_id in taken or link_id in seen:
                link_id = ids.new_link_id()
            drawn[i] = link_id
            seen.add(link_id)


def _stored_link_ids(candidates: list[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(candidates), 5000):
        chunk = candidates[start : start + 5000]
        taken.update(
            bulk.values_in(MessageShortLink.objects, "link_id", chunk).values_list(
                "link_id", flat=True
            )
        )
    return taken


def _contacts_upsert(account: Account, items: list[MessageInput]) -> dict[str, tuple[int, str]]:
    """Contact ids and phones by external id, creating the new ones and filling in phone
    and email (the phone is what a message's cost goes by)."""
    wanted: dict[str, tuple[str, str]] = {}
    for item in items:
        c = item.contact
        phone, email = wanted.get(c.external_id, ("", ""))
        wanted[c.external_id] = (c.phone or phone, c.email or email)

    def lookup(keys: Iterable[str]) -> dict[str, tuple[int, str, str]]:
        rows = _in_chunks(
            Contact.objects.filter(account=account).values_list(
                "external_id", "id", "phone", "email"
            ),
            "external_id",
            keys,
        )
        return {ext: (pk, phone, email) for ext, pk, phone, email in rows}

    found = lookup(wanted)
    # Sorted, so concurrent mints of overlapping contacts lock rows in the same order.
    missing = sorted(key for key in wanted if key not in found)
    flags = _is_test_flags(items)
    if missing:
        # ON CONFLICT DO NOTHING: a concurrent mint may create the same contact first;
        # either way there is one row, which the lookup below finds.
        now = timezone.now()
        if bulk.is_postgres():
            columns = ("account_id", "external_id", "phone", "email", "created_at")
            rows = [(account.pk, k, *wanted[k], now) for k in missing]
            if flags:  # else is_test is the column's default, false: one array less
                columns += ("is_test",)
                rows = [(*row, flags.get(k) is True) for row, k in zip(rows, missing, strict=True)]
            bulk.insert_rows(Contact, columns, rows, on_conflict_do_nothing=True)
        else:
            Contact.objects.bulk_create(
                [
                    Contact(
                        account=account,
                        external_id=k,
                        phone=wanted[k][0],
                        email=wanted[k][1],
                        is_test=flags.get(k) is True,
                    )
                    for k in missing
                ],
                ignore_conflicts=True,
                batch_size=500,
            )
        found.update(lookup(missing))
    changed = [
        Contact(pk=found[key][0], phone=phone or found[key][1], email=email or found[key][2])
        for key, (phone, email) in sorted(wanted.items())
        if (phone and phone != found[key][1]) or (email and email != found[key][2])
    ]
    if changed:
        Contact.objects.bulk_update(changed, ["phone", "email"], batch_size=500)
    # New contacts were made with their flag; existing ones (or one a concurrent mint made
    # first) are updated where it differs, and only then is the config version bumped.
    for value in (True, False):
        ids_ = [found[ext][0] for ext, flag in flags.items() if flag is value]
        contacts_is_test_set(contact_ids=ids_, is_test=value)
    return {key: (pk, wanted[key][0] or phone) for key, (pk, phone, _) in found.items()}


def _is_test_flags(items: Iterable[MessageInput]) -> dict[str, bool]:
    """`contact.is_test` by contact external id where an item gives it (the last item
    naming a contact wins); empty, and nothing more to do, in the common case."""
    return {
        i.contact.external_id: i.contact.is_test for i in items if i.contact.is_test is not None
    }


def _in_chunks(
    queryset: models.QuerySet, field: str, values: Iterable[str], size: int = 5000
) -> list:
    values = list(values)
    rows: list = []
    for start in range(0, len(values), size):
        rows.extend(bulk.values_in(queryset, field, values[start : start + size]))
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
