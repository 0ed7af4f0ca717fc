"""Automations in words, for the dashboard: "A counted click on link1 of campaign Spring",
"Add the label vip". Names are looked up for all the automations at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from automations.membership import audience_names
from automations.models import Automation
from core.models import Campaign, Offer, WebhookEndpoint

EVENT_WORDS = {
    "message.clicked": "A counted click",
    "contact.audience_entered": "Entering audience",
    "conversion.recorded": "An approved conversion",
}


@dataclass(frozen=True)
class Names:
    campaigns: dict[int, str]
    offers: dict[int, str]
    webhooks: dict[int, str]
    audiences: dict[int, str]


def names_of(automations: Iterable[Automation]) -> Names:
    automations = list(automations)
    ids: dict[str, set[int]] = {"campaign": set(), "offer": set(), "audience": set()}
    webhooks: set[int] = set()
    for automation in automations:
        for key, found in ids.items():
            if isinstance(automation.trigger.get(key), int):
                found.add(automation.trigger[key])
        if isinstance(automation.action.get("webhook"), int):
            webhooks.add(automation.action["webhook"])
    return Names(
        campaigns=dict(Campaign.objects.filter(pk__in=ids["campaign"]).values_list("pk", "name")),
        offers=dict(Offer.objects.filter(pk__in=ids["offer"]).values_list("pk", "name")),
        webhooks=dict(WebhookEndpoint.objects.filter(pk__in=webhooks).values_list("pk", "url")),
        audiences=audience_names(sorted(ids["audience"])),
    )


def _named(names: dict[int, str], key: int, what: str) -> str:
    return f"{what} {names[key]}" if key in names else f"{what} #{key} (deleted)"


def trigger_words(trigger: dict, names: Names) -> str:
    event = trigger.get("event", "")
    words = [EVENT_WORDS.get(event, event)]
    if event == "contact.audience_entered":
        return f"{words[0]} {_named(names.audiences, trigger.get('audience'), 'audience')}"
    if "link" in trigger:
        words.append(f"on {trigger['link']}")
    if "campaign" in trigger:
        words.append(f"in {_named(names.campaigns, trigger['campaign'], 'campaign')}")
    if "offer" in trigger:
        words.append(f"on {_named(names.offers, trigger['offer'], 'offer')}")
    if "audience" in trigger:
        words.append(f"by a member of {_named(names.audiences, trigger['audience'], 'audience')}")
    return " ".join(words)


def action_words(action: dict, names: Names) -> str:
    if action.get("type") == "label":
        if "add" in action:
            return f"Add the label {action['add']}"
        return f"Remove the label {action.get('remove')}"
    if action.get("type") == "webhook":
        hook = _named(names.webhooks, action.get("webhook"), "webhook")
        return f"Send journey {action.get('journey')} to {hook}"
    return str(action)


def delay_words(seconds: int) -> str:
    if seconds == 0:
        return "at once"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            n = seconds // size
            return f"after {n} {unit}{'s' if n != 1 else ''}"
    return f"after {seconds} seconds"
