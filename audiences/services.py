"""Audience and contact workflows: creating, changing and deleting an audience (its rule
checked, its membership evaluated), a contact's test flag and labels as the API and the
dashboard change them."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from audiences.membership import audience_evaluate, contact_audiences_evaluate
from audiences.models import Audience, AudienceMember, ContactLabel
from audiences.rules import RuleInvalid, rule_parse
from audiences.tasks import audience_evaluate_task
from core import bounds
from core.models import Account, Contact
from links.internal import contact_is_test_set
from links.mint_input import normalize_phone

# An account with more contacts than this has a new or changed rule evaluated by a task
# (audiences.tasks.audience_evaluate_task) rather than in the request: the answer's count
# is then what is known so far and grows within seconds.
EVALUATE_IN_REQUEST_MAX_CONTACTS = 200_000
NAME_MAX_LENGTH = 200


class AudienceInvalid(ValueError):
    """Input that cannot make an audience: `errors` by field (`rule.all[0].clicked`)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(str(errors))
        self.errors = errors


def _name_clean(name: Any) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > NAME_MAX_LENGTH:
        raise AudienceInvalid({"name": [f"Must be 1 to {NAME_MAX_LENGTH} characters."]})
    return name


def _rule_clean(rule: Any, account_id: int) -> dict[str, Any]:
    try:
        return rule_parse(rule, account_id=account_id).as_json()
    except RuleInvalid as exc:
        raise AudienceInvalid({f"rule.{k}": v for k, v in exc.errors.items()}) from exc


def _evaluate_soon(audience: Audience) -> None:
    """A full evaluation: now for a small account, else by a task once this commits."""
    contacts = Contact.objects.filter(account_id=audience.account_id)
    if contacts.count() <= EVALUATE_IN_REQUEST_MAX_CONTACTS:
        audience_evaluate(audience)
        return
    transaction.on_commit(lambda: audience_evaluate_task.delay(audience.pk))


def _saved(write: Any) -> Audience:
    try:
        with transaction.atomic():
            return write()
    except IntegrityError as exc:
        # Race: two audiences of one name at once; the unique (account, name) keeps one.
        raise AudienceInvalid({"name": ["An audience with this name already exists."]}) from exc


def audience_create(*, account: Account, name: Any, rule: Any) -> Audience:
    errors: dict[str, list[str]] = {}
    try:
        name = _name_clean(name)
    except AudienceInvalid as exc:
        errors.update(exc.errors)
    try:
        rule = _rule_clean(rule, account.pk)
    except AudienceInvalid as exc:
        errors.update(exc.errors)
    if errors:
        raise AudienceInvalid(errors)

    def write() -> Audience:
        audience = Audience.objects.create(account=account, name=name, rule=rule)
        _evaluate_soon(audience)
        return audience

    return _saved(write)


def audience_update(audience: Audience, *, name: Any = None, rule: Any = None) -> Audience:
    """Rename and / or change the rule (None: unchanged); a new rule is evaluated in full."""
    errors: dict[str, list[str]] = {}
    fields = ["updated_at"]
    new_name, new_rule = audience.name, audience.rule
    if name is not None:
        try:
            new_name = _name_clean(name)
        except AudienceInvalid as exc:
            errors.update(exc.errors)
    if rule is not None:
        try:
            new_rule = _rule_clean(rule, audience.account_id)
        except AudienceInvalid as exc:
            errors.update(exc.errors)
    if errors:
        raise AudienceInvalid(errors)
    changed = new_rule != audience.rule
    if name is not None:
        audience.name = new_name
        fields.append("name")
    if rule is not None:
        audience.rule = new_rule
        fields.append("rule")

    def write() -> Audience:
        audience.save(update_fields=fields)
        if changed:
            _evaluate_soon(audience)
        return audience

    return _saved(write)


def audience_delete(audience: Audience) -> None:
    """Delete the audience and its members (no left events: the audience is gone)."""
    audience.delete()


def contact_is_test_change(contact: Contact, *, is_test: bool) -> None:
    """Mark a contact as a tester or not; a tester leaves every audience (and may come
    back when unmarked)."""
    with transaction.atomic():
        contact_is_test_set(contact_id=contact.pk, is_test=is_test)
        contact_audiences_evaluate(account_id=contact.account_id, contact_ids=[contact.pk])
    contact.is_test = is_test


def labels_clean(names: Any, field: str) -> list[str]:
    """A list of label names as given by the API or a form: trimmed, non-empty, at most
    LABEL_MAX_LENGTH characters, at most LABELS_MAX_PER_CHANGE of them."""
    if not isinstance(names, list):
        raise AudienceInvalid({field: ["Must be a list of label names."]})
    if len(names) > bounds.LABELS_MAX_PER_CHANGE:
        raise AudienceInvalid({field: [f"At most {bounds.LABELS_MAX_PER_CHANGE} labels."]})
    cleaned = []
    for i, name in enumerate(names):
        text = name.strip() if isinstance(name, str) else ""
        if not text or len(text) > bounds.LABEL_MAX_LENGTH:
            raise AudienceInvalid(
                {f"{field}[{i}]": [f"Must be a name of 1 to {bounds.LABEL_MAX_LENGTH} characters."]}
            )
        cleaned.append(text)
    return cleaned


def contact_audiences_erase(account_id: int, contact_id: int) -> None:
    """core.hooks.contact_erasing: the contact's labels and memberships go (audiences.rules
    never picks an erased contact again). No contact.audience_left: the contact is gone
    from every event, not leaving an audience."""
    ContactLabel.objects.filter(account_id=account_id, contact_id=contact_id).delete()
    AudienceMember.objects.filter(contact_id=contact_id, audience__account_id=account_id).delete()


def contact_lookup(account: Account, *, external_id: str | None, phone: str | None) -> Contact:
    """The account's live contact with that external id, or phone (normalised as minting
    normalises it; the oldest contact with it, as postbacks read it). ContactNotFound names
    what was not found; ValueError: a phone that is no phone number."""
    contacts = Contact.objects.filter(account=account, erased_at__isnull=True)
    if external_id is not None:
        found = contacts.filter(external_id=external_id).first()
        what = f"external_id {external_id[:60]!r}"
    else:
        assert phone is not None
        found = contacts.filter(phone=normalize_phone(phone)).order_by("id").first()
        what = f"phone {phone[:60]!r}"
    if found is None:
        raise ContactNotFound(f"No contact with {what}.")
    return found


class ContactNotFound(Exception):
    pass
