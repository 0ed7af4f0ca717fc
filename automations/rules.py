"""The trigger and action languages of an automation: what each may say (validated against
the account's own ids), which event a trigger matches, and the key that makes it fire once.

Trigger: `{"event": "message.clicked" | "contact.audience_entered" | "conversion.recorded",
"campaign"?: id, "offer"?: id, "link"?: placeholder name (message.clicked only), "audience"?:
id (required for contact.audience_entered; on the other two, the contact must be in it at
due time)}`. Action: `{"type": "label", "add": name}`, `{"type": "label", "remove": name}`
or `{"type": "webhook", "webhook": endpoint id, "journey": name}`.
"""

from __future__ import annotations

import re
from typing import Any

from attribution.models import Conversion
from automations.membership import audience_exists
from core import text
from core.models import Campaign, Offer, WebhookEndpoint

CLICKED = "message.clicked"
AUDIENCE_ENTERED = "contact.audience_entered"
CONVERSION_RECORDED = "conversion.recorded"
TRIGGER_EVENTS = (CLICKED, AUDIENCE_ENTERED, CONVERSION_RECORDED)

# What each trigger event may be filtered by.
FILTERS: dict[str, tuple[str, ...]] = {
    CLICKED: ("campaign", "offer", "link", "audience"),
    AUDIENCE_ENTERED: ("audience",),
    CONVERSION_RECORDED: ("campaign", "offer", "audience"),
}
LINK_NAME_RE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")  # a placeholder's name, as minting takes it
LABEL_MAX_LENGTH = 100  # audiences.models.ContactLabel.name
JOURNEY_MAX_LENGTH = 200


class RuleError(ValueError):
    """A trigger or action that may not be: `field` names the key, `message` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


MAX_ID = 2**63 - 1  # a bigint: a larger one would reach PostgreSQL as an error


def _id(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise RuleError(field, "Must be an id (a positive whole number).")
    return value


def _name(value: Any, field: str, max_length: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RuleError(field, "Must be a non-empty string.")
    value = value.strip()
    if len(value) > max_length:
        raise RuleError(field, f"At most {max_length} characters.")
    if not value.isprintable():  # control characters, NUL, lone surrogates
        raise RuleError(field, "Must not hold control characters.")
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RuleError("non_field_errors", f"The {what} must be a JSON object.")
    return value


def trigger_clean(trigger: Any, *, account_id: int) -> dict[str, Any]:
    """The trigger as stored, or RuleError naming the first bad key. Ids must be the
    account's (another account's is as unknown as a missing one)."""
    trigger = _object(trigger, "trigger")
    event = trigger.get("event")
    if event not in TRIGGER_EVENTS:
        raise RuleError("event", f"Must be one of {', '.join(TRIGGER_EVENTS)}.")
    allowed = FILTERS[event]
    for key in trigger:
        if key == "event":
            continue
        if key not in ("campaign", "offer", "link", "audience"):
            raise RuleError(text.printable(str(key)), "Unknown field.")
        if key not in allowed:
            raise RuleError(key, f"Not a filter of {event}.")
    clean: dict[str, Any] = {"event": event}
    if "campaign" in trigger:
        clean["campaign"] = _id(trigger["campaign"], "campaign")
        if not Campaign.objects.filter(pk=clean["campaign"], account_id=account_id).exists():
            raise RuleError("campaign", "No such campaign in this account.")
    if "offer" in trigger:
        clean["offer"] = _id(trigger["offer"], "offer")
        if not Offer.objects.filter(pk=clean["offer"], account_id=account_id).exists():
            raise RuleError("offer", "No such offer in this account.")
    if "link" in trigger:
        link = trigger["link"]
        if not isinstance(link, str) or not LINK_NAME_RE.fullmatch(link):
            raise RuleError("link", "Must be a link's placeholder name, such as link1.")
        clean["link"] = link
    if event == AUDIENCE_ENTERED and "audience" not in trigger:
        raise RuleError("audience", f"Required for {event}.")
    if "audience" in trigger:
        clean["audience"] = _id(trigger["audience"], "audience")
        if not audience_exists(account_id=account_id, audience_id=clean["audience"]):
            raise RuleError("audience", "No such audience in this account.")
    return clean


def action_clean(action: Any, *, account_id: int) -> dict[str, Any]:
    """The action as stored, or RuleError naming the first bad key."""
    action = _object(action, "action")
    kind = action.get("type")
    if kind == "label":
        unknown = [k for k in action if k not in ("type", "add", "remove")]
        if unknown:
            raise RuleError(text.printable(str(unknown[0])), "Unknown field.")
        verbs = [k for k in ("add", "remove") if k in action]
        if len(verbs) != 1:
            raise RuleError("add", "A label action either adds or removes one label: give one.")
        verb = verbs[0]
        return {"type": "label", verb: _name(action[verb], verb, LABEL_MAX_LENGTH)}
    if kind == "webhook":
        unknown = [k for k in action if k not in ("type", "webhook", "journey")]
        if unknown:
            raise RuleError(text.printable(str(unknown[0])), "Unknown field.")
        if "webhook" not in action:
            raise RuleError("webhook", "Required: the id of one of this account's webhooks.")
        webhook = _id(action["webhook"], "webhook")
        if not WebhookEndpoint.objects.filter(pk=webhook, account_id=account_id).exists():
            raise RuleError("webhook", "No such webhook in this account.")
        if "journey" not in action:
            raise RuleError("journey", "Required: the name the sending platform acts on.")
        return {
            "type": "webhook",
            "webhook": webhook,
            "journey": _name(action["journey"], "journey", JOURNEY_MAX_LENGTH),
        }
    raise RuleError("type", "Must be 'label' or 'webhook'.")


def ref_id(data: dict[str, Any], key: str) -> int | None:
    """The id of the object an event's data names under `key` (contact, audience, ...)."""
    ref = data.get(key)
    return ref.get("id") if isinstance(ref, dict) else None


def trigger_matches(trigger: dict[str, Any], event_type: str, data: dict[str, Any]) -> bool:
    """Whether an event (its type and data, as core.events wrote them) is this trigger's.
    The audience filter of a click or conversion trigger is checked at due time (the
    runner), when the audiences consumer has read the same event."""
    if trigger.get("event") != event_type:
        return False
    if event_type == AUDIENCE_ENTERED:
        return ref_id(data, "audience") == trigger.get("audience")
    if "campaign" in trigger and ref_id(data, "campaign") != trigger["campaign"]:
        return False
    if "offer" in trigger and ref_id(data, "offer") != trigger["offer"]:
        return False
    link = data.get("link")
    if "link" in trigger and not (isinstance(link, dict) and link.get("name") == trigger["link"]):
        return False
    if event_type == CONVERSION_RECORDED:
        conversion = data.get("conversion") or {}
        # Once, when it becomes approved: a conversion.recorded of a conversion that is not
        # approved schedules nothing (statuses: attribution.models.Conversion).
        return Conversion.approved_values(conversion.get("status"), conversion.get("approval"))
    return True


def trigger_key(event_type: str, data: dict[str, Any], sequence: int) -> str | None:
    """The once-per key of the thing an event tells of (see AutomationRun), or None when
    it names no contact (an unattributed conversion)."""
    contact = ref_id(data, "contact")
    if contact is None:
        return None
    if event_type == CLICKED:
        message = ref_id(data, "message")
        return None if message is None else f"click:{contact}:{message}"
    if event_type == AUDIENCE_ENTERED:
        return f"entry:{ref_id(data, 'audience')}:{contact}:{sequence}"
    if event_type == CONVERSION_RECORDED:
        conversion = ref_id(data, "conversion")
        return None if conversion is None else f"conversion:{conversion}"
    return None
