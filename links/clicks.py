"""Click writes, one click at a time: a raw click stored in the request (no click
pipeline, or Redis down) with its counted click, and a click's verdict changed after the
fact. Which click counts is links.counting's rule; both writes run it. Test and internal
traffic (links.bots.INTERNAL) is stored so whatever verdict the caller brings, and keeps it."""

from __future__ import annotations

import datetime as dt

from links import counting
from links.bots import INTERNAL, INTERNAL_REASON, Verdict
from links.models import MessageShortLinkClick
from links.resolve import LinkInfo
from links.traits import ClickTraits, agent_traits


def click_record(
    *,
    link: LinkInfo,
    click_id: str,
    clicked_at: dt.datetime,
    ip: str | None,
    user_agent: str,
    referer: str,
    accept_language: str,
    method: str,
    verdict: Verdict,
    traits: ClickTraits | None = None,
    variant: str | None = None,
) -> MessageShortLinkClick:
    """Store a raw click and, when it is its (contact, message)'s counted click so far,
    its MessageClick. Two statements, no transaction: the second only ever adds to the
    first. A click the link info says is internal (links.bots.is_internal) is stored as
    INTERNAL, whatever `verdict` says. `traits`: what the caller worked out (the redirect,
    for an offer with rules), else worked out here (links.traits); `variant`: what the
    redirect served ("" none or rule-routed), else the link's (as the consumer,
    links.click_writer, defaults it)."""
    if verdict != INTERNAL and link.is_internal(ip):
        verdict = INTERNAL
    if traits is None:
        traits = agent_traits(user_agent)  # the place: the judge's (links.traits)
    click = MessageShortLinkClick.objects.create(
        click_id=click_id,
        account_id=link.account_id,
        short_link_id=link.pk,
        message_id=link.message_id,
        contact_id=link.contact_id,
        clicked_at=clicked_at,
        ip=ip,
        user_agent=user_agent,
        referer=referer,
        accept_language=accept_language[:255],
        method=method,
        is_bot=verdict.is_bot,
        bot_reason=verdict.reason,
        device=traits.device,
        os=traits.os,
        browser=traits.browser,
        country=traits.country,
        network=traits.network,
        variant=link.variant if variant is None else variant,
    )
    counting.message_click_offer(
        click=click, offer_id=link.offer_id, bot_detection_enabled=link.bot_detection_enabled
    )
    return click


def click_verdict_set(click: MessageShortLinkClick, *, is_bot: bool, reason: str) -> None:
    """Change a click's verdict and keep its pair's MessageClick the rule's answer (and,
    through links.hooks.counted_click_moved, the conversions it carried). An internal
    click's verdict is never changed: no judge's finding makes test traffic count."""
    if click.bot_reason == INTERNAL_REASON:
        return
    if click.is_bot == is_bot and click.bot_reason == reason:
        return
    MessageShortLinkClick.objects.filter(pk=click.pk).update(is_bot=is_bot, bot_reason=reason)
    click.is_bot, click.bot_reason = is_bot, reason
    counting.message_click_recompute(contact_id=click.contact_id, message_id=click.message_id)
