"""The audience rule language: parsing and validating a rule, saying it in words, and
compiling it to one query over an account's contacts.

A rule is `{"all": [condition, ...]}` (1 to core.bounds.AUDIENCE_MAX_CONDITIONS), a contact
being a member when every condition holds. A condition is one of:

- `{"clicked": {...}}`: a counted click (MessageClick) whose raw click has been judged by
  the behavioural checks, on a matching message;
- `{"not_clicked": {...}}`: received a matching message and made no such click on it;
- `{"received": {...}}`: a matching message was sent (sent_at not in the future);
- `{"converted": {...}}`: a conversion credited to the contact, approved
  (attribution.models.Conversion.approved_q);
- `{"label": name}`: the contact carries the label.

The filters `campaign`, `offer`, `creative`, `list` (ids of the account) and `within_days`
(on sent_at for received / not_clicked, clicked_at for clicked, occurred_at for converted)
are all optional. Test contacts (Contact.is_test) and erased ones are never members.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from attribution.models import Conversion
from audiences.models import ContactLabel
from core import bounds
from core.models import Campaign, Contact, Creative, Message, Offer, SendingList
from links.models import MessageClick, MessageShortLink, MessageShortLinkClick

KINDS = ("clicked", "not_clicked", "received", "converted")
FILTERS = ("campaign", "offer", "creative", "list", "within_days")
_MODELS: dict[str, Any] = {
    "campaign": Campaign,
    "offer": Offer,
    "creative": Creative,
    "list": SendingList,
}


class RuleInvalid(ValueError):
    """A rule that cannot be used: `errors` maps a dotted path inside the rule
    (`all[0].clicked.campaign`) to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Condition:
    kind: str  # one of KINDS, or "label"
    campaign: int | None = None
    offer: int | None = None
    creative: int | None = None
    list: int | None = None
    within_days: int | None = None
    label: str | None = None

    def as_json(self) -> dict[str, Any]:
        if self.kind == "label":
            return {"label": self.label}
        return {self.kind: {f: getattr(self, f) for f in FILTERS if getattr(self, f) is not None}}


@dataclass(frozen=True)
class Rule:
    conditions: tuple[Condition, ...]

    def as_json(self) -> dict[str, Any]:
        return {"all": [c.as_json() for c in self.conditions]}

    @property
    def is_timed(self) -> bool:
        """Membership changes with time or with sends alone (no event tells of either), so
        the aging sweep re-evaluates it."""
        return any(
            c.within_days is not None or c.kind in ("received", "not_clicked")
            for c in self.conditions
        )

    @property
    def labels(self) -> set[str]:
        return {c.label for c in self.conditions if c.label is not None}


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**63


def _condition_parse(path: str, data: Any, errors: dict[str, list[str]]) -> Condition | None:
    if not isinstance(data, Mapping) or len(data) != 1:
        errors[path] = [f"Must be an object with one key: one of {', '.join((*KINDS, 'label'))}."]
        return None
    ((kind, body),) = data.items()
    if kind == "label":
        name = body.strip() if isinstance(body, str) else None
        if not name or len(name) > bounds.LABEL_MAX_LENGTH:
            errors[f"{path}.label"] = [
                f"Must be a label name of 1 to {bounds.LABEL_MAX_LENGTH} characters."
            ]
            return None
        return Condition("label", label=name)
    if kind not in KINDS:
        known = ", ".join((*KINDS, "label"))
        errors[f"{path}.{kind}"] = [f"Unknown condition: use one of {known}."]
        return None
    path = f"{path}.{kind}"
    if not isinstance(body, Mapping):
        errors[path] = ["Must be an object of filters (may be empty)."]
        return None
    ok = True
    for key in body:
        if key not in FILTERS:
            errors[f"{path}.{key}"] = ["Unknown field."]
            ok = False
    for key in _MODELS:
        if key in body and not _is_id(body[key]):
            errors[f"{path}.{key}"] = ["Must be an id."]
            ok = False
    days = body.get("within_days")
    if days is not None and not (
        isinstance(days, int)
        and not isinstance(days, bool)
        and 1 <= days <= bounds.AUDIENCE_MAX_WITHIN_DAYS
    ):
        errors[f"{path}.within_days"] = [
            f"Must be a whole number of days from 1 to {bounds.AUDIENCE_MAX_WITHIN_DAYS:,}."
        ]
        ok = False
    if not ok:
        return None
    return Condition(kind, **{k: body.get(k) for k in FILTERS})


def rule_parse(data: Any, *, account_id: int) -> Rule:
    """A rule from its JSON, every id checked to be the account's; RuleInvalid naming each
    problem otherwise."""
    errors: dict[str, list[str]] = {}
    if not isinstance(data, Mapping) or "all" not in data:
        raise RuleInvalid({"all": ['Must be an object {"all": [condition, ...]}.']})
    for key in data:
        if key != "all":
            errors[str(key)] = ["Unknown field (a rule is all of its conditions)."]
    items = data["all"]
    if not isinstance(items, list) or not 1 <= len(items) <= bounds.AUDIENCE_MAX_CONDITIONS:
        errors["all"] = [f"Must be a list of 1 to {bounds.AUDIENCE_MAX_CONDITIONS} conditions."]
        raise RuleInvalid(errors)
    conditions = [_condition_parse(f"all[{i}]", item, errors) for i, item in enumerate(items)]
    _ids_check(conditions, account_id, errors)
    if errors:
        raise RuleInvalid(errors)
    return Rule(tuple(c for c in conditions if c is not None))


def _ids_check(
    conditions: list[Condition | None], account_id: int, errors: dict[str, list[str]]
) -> None:
    """Each id a condition names must be of the account: one query per kind of id."""
    for field, model in _MODELS.items():
        wanted = {getattr(c, field) for c in conditions if c and getattr(c, field) is not None}
        if not wanted:
            continue
        found = set(
            model.objects.filter(account_id=account_id, pk__in=wanted).values_list("pk", flat=True)
        )
        for i, c in enumerate(conditions):
            value = getattr(c, field) if c else None
            if value is not None and value not in found:
                errors[f"all[{i}].{c.kind}.{field}"] = [  # type: ignore[union-attr]
                    f"No {field} {value} in this account."
                ]


def rule_stored(data: Any) -> Rule:
    """A rule as stored (already parsed and checked when saved): no queries."""
    return Rule(
        tuple(
            _condition_parse("", item, {}) or Condition("never")
            for item in (data or {}).get("all", [])
        )
    )


# --- in words --------------------------------------------------------------------------

_VERBS = {
    "clicked": "clicked",
    "not_clicked": "received and did not click",
    "received": "received",
    "converted": "converted (approved)",
}


def rule_words(rule: Rule, names: Mapping[tuple[str, int], str] | None = None) -> str:
    """The rule for a person: "clicked campaign Spring in the last 7 days, and has label vip"."""
    names = names or {}
    parts = []
    for c in rule.conditions:
        if c.kind == "label":
            parts.append(f"has label {c.label}")
            continue
        words = [_VERBS.get(c.kind, c.kind)]
        for field in _MODELS:
            value = getattr(c, field)
            if value is not None:
                words.append(f"{field} {names.get((field, value), f'#{value}')}")
        if c.within_days is not None:
            days = "day" if c.within_days == 1 else f"{c.within_days} days"
            words.append(f"in the last {days}")
        parts.append(" ".join(words))
    return ", and ".join(parts)


def rule_names(rules: Iterable[Rule], account_id: int) -> dict[tuple[str, int], str]:
    """The names of the objects the rules name (for rule_words): one query per kind."""
    names: dict[tuple[str, int], str] = {}
    for field, model in _MODELS.items():
        ids = {getattr(c, field) for r in rules for c in r.conditions if getattr(c, field)}
        if ids:
            for pk, name in model.objects.filter(account_id=account_id, pk__in=ids).values_list(
                "pk", "name"
            ):
                names[(field, pk)] = name
    return names


# --- the query -------------------------------------------------------------------------


def _since(c: Condition, now: dt.datetime) -> dt.datetime | None:
    return now - dt.timedelta(days=c.within_days) if c.within_days is not None else None


def _messages(c: Condition, now: dt.datetime, contact: Any) -> QuerySet:
    """The contact's sent messages matching the condition's filters (and days)."""
    q = Q(contact_id=contact, sent_at__lte=now)
    if c.campaign is not None:
        q &= Q(campaign_id=c.campaign)
    if c.creative is not None:
        q &= Q(creative_id=c.creative)
    if c.list is not None:
        q &= Q(sending_list_id=c.list)
    since = _since(c, now)
    if since is not None:
        q &= Q(sent_at__gte=since)
    messages = Message.objects.filter(q)
    if c.offer is not None:
        messages = messages.filter(
            Exists(MessageShortLink.objects.filter(message_id=OuterRef("pk"), offer_id=c.offer))
        )
    return messages


def _counted_clicks(**where: Any) -> QuerySet:
    """Counted clicks whose raw click has been judged: what `message.clicked` announced.
    Not judged is an anti-join, so a counted click whose raw click retention pruned (judged
    long before; no database foreign key) still counts."""
    unjudged = MessageShortLinkClick.objects.filter(
        pk=OuterRef("raw_click_id"), judged_at__isnull=True
    )
    return MessageClick.objects.filter(~Exists(unjudged), **where)


def _exists(c: Condition, now: dt.datetime) -> Exists:
    contact = OuterRef("pk")
    if c.kind == "label":
        return Exists(ContactLabel.objects.filter(contact_id=contact, name=c.label))
    if c.kind == "received":
        return Exists(_messages(c, now, contact))
    if c.kind == "not_clicked":
        unclicked = _messages(c, now, contact).filter(
            ~Exists(_counted_clicks(message_id=OuterRef("pk"), contact_id=OuterRef("contact_id")))
        )
        return Exists(unclicked)
    since = _since(c, now)
    if c.kind == "clicked":
        q = Q(contact_id=contact)
        if c.campaign is not None:
            q &= Q(message__campaign_id=c.campaign)
        if c.creative is not None:
            q &= Q(message__creative_id=c.creative)
        if c.list is not None:
            q &= Q(message__sending_list_id=c.list)
        if c.offer is not None:
            q &= Q(offer_id=c.offer)  # the offer of the link clicked
        if since is not None:
            q &= Q(clicked_at__gte=since)
        return Exists(_counted_clicks().filter(q))
    if c.kind == "converted":
        q = Q(contact_id=contact) & Conversion.approved_q()
        for field in ("campaign", "offer", "creative"):
            if getattr(c, field) is not None:
                q &= Q(**{f"{field}_id": getattr(c, field)})
        if c.list is not None:
            q &= Q(message__sending_list_id=c.list)
        if since is not None:
            q &= Q(occurred_at__gte=since)
        return Exists(Conversion.objects.filter(q))
    raise ValueError(f"unknown condition {c.kind!r}")


def ids_in(ids: Iterable[int], field: str = "pk") -> Q:
    """`field` is one of `ids`: one array parameter on PostgreSQL (10,000 IN parameters
    take longer to plan than the query takes to run), an IN list elsewhere."""
    ids = list(ids)
    if connection.vendor == "postgresql":
        return Q(**{f"{field}__in": RawSQL("SELECT unnest(%s::bigint[])", [ids])})
    return Q(**{f"{field}__in": ids})


def rule_members(
    rule: Rule,
    *,
    account_id: int,
    now: dt.datetime,
    contact_ids: Iterable[int] | None = None,
) -> QuerySet:
    """The account's contacts the rule picks at `now` (of `contact_ids` only, when given):
    one query, Exists subqueries only, so it runs on PostgreSQL and SQLite alike."""
    contacts = Contact.objects.filter(account_id=account_id, is_test=False, erased_at__isnull=True)
    if contact_ids is not None:
        contacts = contacts.filter(ids_in(contact_ids))
    if any(c.kind not in (*KINDS, "label") for c in rule.conditions):
        return contacts.none()
    return contacts.filter(*[_exists(c, now) for c in rule.conditions])
