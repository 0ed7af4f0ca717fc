"""A small, known dataset made through the real code paths: messages minted through the
API, clicks through links.clicks.click_record, conversions through
attribution.services.conversion_record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from attribution.models import Conversion
from attribution.postback_input import ConversionInput
from attribution.services import conversion_record
from core.models import Message, Offer, SendingList
from links.bots import HUMAN, Verdict
from links.models import MessageShortLink, MessageShortLinkClick
from tests.helpers import click_stored

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    """An aware UTC time from 'YYYY-MM-DD HH:MM[:SS]'."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def offer_make(account: Any, name: str) -> Offer:
    offer = Offer(account=account.account, name=name, destination_url="https://adv.example/")
    offer.rotate_postback_secret()
    offer.save()
    return offer


def click(link: MessageShortLink, when: dt.datetime, *, bot: bool = False) -> MessageShortLinkClick:
    return click_stored(
        link, when, ip="198.51.100.7", accept_language="en",
        user_agent="curl/8" if bot else "Mozilla/5.0 (iPhone) Safari/604.1",
        verdict=Verdict(True, "ua:test-bot") if bot else HUMAN,
    )  # fmt: skip


def convert(
    account: Any,
    message: Message,
    offer: Offer | None,
    when: dt.datetime,
    revenue: str,
    txn_id: str,
    *,
    payout: str | None = None,
    approval: str | None = None,
) -> Conversion:
    """A conversion as a postback records it (payout None: equal to the revenue)."""
    conversion, created = conversion_record(
        account=account.account,
        data=ConversionInput(
            event="purchase",
            revenue=Decimal(revenue),
            currency="USD",
            txn_id=txn_id,
            occurred_at=when,
            payout=Decimal(payout) if payout is not None else None,
            approval=approval,
        ),
        log=None,
        contact_id=message.contact_id,
        offer=offer,
        message_id=message.pk,
    )
    assert created
    return conversion


@dataclass
class Dataset:
    account: Any
    offers: dict[str, Offer] = field(default_factory=dict)
    lists: dict[str, SendingList] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    clicks: dict[str, MessageShortLinkClick] = field(default_factory=dict)

    def link(self, message: str, name: str = "a") -> MessageShortLink:
        return MessageShortLink.objects.get(message=self.messages[message], name=name)

    def mint(self, key: str, sent_at: str, links: dict[str, Offer | None], **fields: Any) -> None:
        body = " ".join(f"{{{{{name}}}}}" for name in links)
        result = self.account.mint(
            external_id=key,
            contact={"external_id": f"contact-{key}"},
            body=body,
            sent_at=at(sent_at).isoformat(),
            links={
                name: ({"offer": offer.pk} if offer else {"url": f"https://shop.example/{key}"})
                for name, offer in links.items()
            },
            **fields,
        )
        self.messages[key] = Message.objects.get(pk=result["id"])


def dataset_build(account: Any) -> Dataset:
    """Account time zone America/New_York (UTC-5 in January). Local days 9 to 12 January.

    m1 Spring/S1/Members, offer A, sent 23:30 local on the 9th (04:30Z on the 10th);
       its person clicks twice across local midnight, a scanner once.
    m2 Spring/S2/Members, links to offers A and B; a bot, then a person on each link.
    m3 Summer/U1/Open (bot detection off), offer B; a bot first (it counts), then a person.
    m4 no campaign, creative or list; a plain link with no offer; one person.
    m5 Summer/U1/Members, offer A, never clicked: a view-through conversion.

    Money: t2 pays out less than its revenue; t6 (m2, offer B) awaits approval; t7 was
    rejected, t8 reversed, t9 (view-through) awaits approval: those count in no figure but
    pending_*. Each message has a cost (m4 none), set as the mint would have fixed it.
    """
    account.account.time_zone = "America/New_York"
    account.account.save(update_fields=["time_zone"])
    data = Dataset(account)
    data.offers = {"A": offer_make(account, "Offer A"), "B": offer_make(account, "Offer B")}
    data.lists = {
        "Members": SendingList.objects.create(account=account.account, name="Members"),
        "Open": SendingList.objects.create(
            account=account.account, name="Open", bot_detection_enabled=False
        ),
    }
    a, b = data.offers["A"], data.offers["B"]
    spring = {"campaign": "Spring", "list": "Members"}
    summer = {"campaign": "Summer", "creative": "U1"}
    data.mint("m1", "2026-01-10 04:30", {"a": a}, creative="S1", **spring)
    data.mint("m2", "2026-01-10 15:00", {"a": a, "b": b}, creative="S2", **spring)
    data.mint("m3", "2026-01-11 12:00", {"a": b}, list="Open", **summer)
    data.mint("m4", "2026-01-11 13:00", {"a": None})
    data.mint("m5", "2026-01-12 09:00", {"a": a}, list="Members", **summer)

    data.clicks["m1-scan"] = click(data.link("m1"), at("2026-01-10 04:30:01"), bot=True)
    data.clicks["m1-first"] = click(data.link("m1"), at("2026-01-10 04:50"))  # 23:50 local, 9th
    data.clicks["m1-again"] = click(data.link("m1"), at("2026-01-10 05:10"))  # 00:10 local, 10th
    data.clicks["m2-bot"] = click(data.link("m2", "a"), at("2026-01-10 15:00:30"), bot=True)
    data.clicks["m2-b"] = click(data.link("m2", "b"), at("2026-01-10 16:00"))
    data.clicks["m2-a"] = click(data.link("m2", "a"), at("2026-01-10 17:00"))
    data.clicks["m3-bot"] = click(data.link("m3"), at("2026-01-11 12:00:10"), bot=True)
    data.clicks["m3-person"] = click(data.link("m3"), at("2026-01-11 13:00"))
    data.clicks["m4"] = click(data.link("m4"), at("2026-01-11 14:00"))

    m = data.messages
    convert(account, m["m1"], a, at("2026-01-10 06:00"), "10.00", "t1")  # click-through
    convert(account, m["m2"], b, at("2026-01-10 16:10"), "25.50", "t2", payout="20.40")  # direct
    convert(account, m["m4"], None, at("2026-01-11 14:20"), "3.00", "t4")  # its own message
    convert(account, m["m5"], a, at("2026-01-12 20:00"), "7.25", "t5")  # view-through
    convert(account, m["m2"], b, at("2026-01-10 16:20"), "80.00", "t6", payout="12.00",
            approval="pending")  # fmt: skip
    convert(account, m["m1"], a, at("2026-01-10 07:00"), "15.00", "t7", approval="rejected")
    convert(account, m["m3"], b, at("2026-01-11 14:00"), "20.00", "t8", payout="5.00",
            approval="reversed")  # fmt: skip
    convert(account, m["m5"], a, at("2026-01-12 21:00"), "4.00", "t9", approval="pending")
    costs = {"m1": "0.5000", "m2": "0.7500", "m3": "0.0079", "m5": "1.2500"}
    for key, cost in costs.items():
        Message.objects.filter(pk=m[key].pk).update(cost=Decimal(cost))
        m[key].refresh_from_db()
    return data
