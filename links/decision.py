"""The redirect's decision: what a tap on /<link_id> is answered, and whether it is a click.

One pure function, `decide`, from plain values (the method, the link as links.resolve
knows it or None, the tracking domain or None, the time and the click id the caller drew,
and for an offer with routing rules the click's traits and Accept-Language) to an
`Answer`. Where a live link goes: the first routing rule the click matches, else the
link's A/B variant while the offer still has it, else the offer's destination; macros
and the click id, then the UTM template, apply to each (links.routing). No I/O: the
callers (both doors of links.redirect) look the link and the domain up, store the click
and turn the answer into a response; a rule changed here is changed for both.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core import uris
from links import ids
from links.destination import destination_url
from links.routing import language_of, rule_match, utm_append

if TYPE_CHECKING:
    from links.domains import DomainInfo
    from links.resolve import Interstitial, LinkInfo
    from links.traits import ClickTraits

METHODS = ("GET", "HEAD")


class Kind(enum.Enum):
    REDIRECT = "redirect"  # 302 to the destination, with the click id
    INTERSTITIAL = "interstitial"  # 200, the page; its button goes to the destination
    FALLBACK = "fallback"  # 302 to a fallback URL (offer ended, or unknown or retired link)
    OFFER_ENDED = "offer_ended"  # 410 page: offer ended and no fallback anywhere
    NOT_FOUND = "not_found"  # 404 page: unknown link and no fallback
    NO_SUCH_HOST = "no_such_host"  # plain 404: not (or no longer) a tracking domain
    METHOD_NOT_ALLOWED = "method_not_allowed"  # 405, Allow: GET, HEAD


@dataclass(frozen=True)
class Answer:
    kind: Kind
    # Whether the tap is stored as a click (the caller appends or writes it).
    records_click: bool = False
    # REDIRECT, FALLBACK: the Location; INTERSTITIAL: where its button goes. A URI.
    location: str = ""
    interstitial: Interstitial | None = None
    # The A/B variant the click was sent to: "" for none, a rule's target, the offer's
    # destination (a removed variant included) or a fallback.
    variant: str = ""
    # The click's traits when the decision needed them (an offer with rules), for the
    # caller to store on the click; None: worked out later (links.traits).
    traits: ClickTraits | None = None


def wants_link(method: str | None, link_id: str) -> bool:
    """Whether the answer depends on the link: the callers look it up only then (a
    scanner's POSTs and malformed ids cost no lookup)."""
    return method in METHODS and ids.is_link_id(link_id)


def needs_traits(link: LinkInfo | None) -> bool:
    """Whether deciding a tap on `link` needs the click's traits (links.traits.click_traits):
    only an offer with routing rules does; the callers work them out only then, so other
    links' taps cost nothing more."""
    return link is not None and bool(link.rules)


def decide(
    *,
    method: str | None,
    link_id: str,
    link: LinkInfo | None,
    domain: DomainInfo | None,
    now: dt.datetime,
    click_id: str,
    traits: ClickTraits | None = None,
    accept_language: str = "",
) -> Answer:
    """`link_id` is the path without its slash; `link` what links.resolve found for it
    (None when unknown, or not looked up: see wants_link); `traits` the click's when
    needs_traits(link) (without them no rule matches)."""
    if domain is None:
        return Answer(Kind.NO_SUCH_HOST)
    if not link_id or "/" in link_id:
        return unknown(domain)  # not a short link's path, whatever the method
    if method not in METHODS:
        return Answer(Kind.METHOD_NOT_ALLOWED)
    # Another account's link on this host is treated as unknown; so is a retired one.
    if link is None or link.account_id != domain.account_id or is_retired(link, now):
        return unknown(domain)
    if not link.offer_is_live(now):
        fallback = link.offer_fallback_url or domain.fallback_url
        if fallback:
            return Answer(
                Kind.FALLBACK,
                records_click=True,
                location=uris.to_location(fallback),
                traits=traits,
            )
        return Answer(Kind.OFFER_ENDED, records_click=True, traits=traits)
    template, variant = route(link, traits, accept_language)
    target = target_url(link, click_id, template)
    if link.interstitial is not None:
        return Answer(
            Kind.INTERSTITIAL,
            records_click=True,
            location=target,
            interstitial=link.interstitial,
            variant=variant,
            traits=traits,
        )
    return Answer(
        Kind.REDIRECT, records_click=True, location=target, variant=variant, traits=traits
    )


def is_retired(link: LinkInfo, now: dt.datetime) -> bool:
    """Whether the account retires its links after link_retention_days and this one is
    that old: it then answers as an unknown link (the domain's fallback, else 404), and
    its taps are not clicks."""
    days = link.link_retention_days
    if days is None or link.created_at is None:
        return False
    return link.created_at + dt.timedelta(days=days) <= now


def route(link: LinkInfo, traits: ClickTraits | None, accept_language: str) -> tuple[str, str]:
    """(the target's template, the variant served): the first matching rule (no variant),
    else the link's variant while the offer has it, else the destination (no variant)."""
    if link.rules and traits is not None:
        rule = rule_match(link.rules, traits, language_of(accept_language))
        if rule is not None:
            return rule.url, ""
    if link.variant:
        url = link.variants.get(link.variant)
        if url is not None:
            return url, link.variant
    return link.destination_template, ""


def unknown(domain: DomainInfo) -> Answer:
    if domain.fallback_url:
        return Answer(Kind.FALLBACK, location=uris.to_location(domain.fallback_url))
    return Answer(Kind.NOT_FOUND)


def target_url(link: LinkInfo, click_id: str, template: str | None = None) -> str:
    """Where the click goes, as a URI (the interstitial's button carries it too): the
    template (the link's destination unless routed elsewhere) with its macros and the
    click id, then the link's UTM parameters."""
    if template is None:
        template = link.destination_template
    url = destination_url(
        template,
        {
            "click_id": click_id,
            "link_id": link.link_id,
            "message_id": link.message_id,
            "contact_id": link.contact_id,
            "offer_id": link.offer_id,
            "campaign_id": link.campaign_id,
            "creative_id": link.creative_id,
        },
        link.click_param,
    )
    return uris.to_location(utm_append(url, link.utm_pairs.get(template, "")))
