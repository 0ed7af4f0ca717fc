"""The scale data's raw clicks (links_messageshortlinkclick), in click order, and the counted
clicks (links_messageclick) built from them by the product's rule
(links.counting.message_clicks_build), read back as FirstClick for the conversions."""

from __future__ import annotations

import bisect
import datetime as dt
import random
from array import array
from dataclasses import dataclass
from typing import Any

from devdata.scale.catalogue import HOUR, MINUTE, SECOND
from devdata.scale.draw import CHUNK, cumulative, random_ids
from devdata.scale.pg import copy_rows, next_id
from links.counting import message_clicks_build
from links.ids import CLICK_ID_LENGTH, CLICK_TIME_LENGTH, click_time_prefix
from links.traits import click_traits


@dataclass
class FirstClick:
    """A MessageClick made (links.counting.message_clicks_build), as the conversions use it."""

    id: int
    message: int  # index into the messages
    offer_id: int | None  # None when the first click was on link2 (no offer)
    clicked_at: int
    click_pk: int
    click_id: str


class ClicksStep:
    """Part of ScaleFill: reads the messages (MessagesStep) and its clickers; sets clicked
    (messages with any raw click) and first_clicks."""

    def _click_events(self) -> tuple[array, array, array, array, array]:
        """Every raw click as (time, message index, agent, IP, link 1 or 2), unordered."""
        size, rng, who = self.size, self.rng, self.clickers
        count, span = len(self.msg_sent), self.span
        msg_sent, msg_link2, msg_contact = self.msg_sent, self.msg_link2, self.msg_contact
        bots = round(size.clicks * size.bot_share)
        humans = size.clicks - bots
        times, messages = array("q"), array("i")
        agents, ips, links = array("H"), array("I"), array("B")

        def add(at: int, since: int, m: int, agent: int, ip: int, link: int) -> None:
            if at > span:  # not happened yet: fold it back into the time there was
                at = since + int(rng.random() * (span - since))
            times.append(at)
            messages.append(m)
            agents.append(agent)
            ips.append(ip)
            links.append(link)

        msg_list = self.msg_list
        kinds = who.bot_kinds
        shares = cumulative([k.share for k in kinds])
        for _ in range(bots):
            m = int(rng.random() * count)
            kind = kinds[bisect.bisect(shares, rng.random() * shares[-1])]
            link = 2 if kind.both_links and msg_link2[m] and rng.random() < 0.5 else 1
            # A fanning-out scanner works through a whole blast (one list) from one IP.
            ip = kind.ips[msg_list[m] % len(kind.ips)] if kind.fans_out else rng.choice(kind.ips)
            sent = msg_sent[m]
            add(sent + kind.delay(rng), sent, m, rng.choice(kind.agents), ip, link)

        # People: whether they click depends on campaign, creative and list.
        creatives, lists, msg_creative = self.creatives, self.lists, self.msg_creative
        clickers = [
            m
            for m in range(count)
            if rng.random()
            < min(0.9, creatives[msg_creative[m]].ctr * lists[msg_list[m]].ctr_factor)
        ]
        if len(clickers) > humans:
            clickers = sorted(rng.sample(clickers, humans))
        people, person_ips, other_ips = who.people, who.person_ips, who.other_ips
        for m, clicks in zip(clickers, _taps(rng, len(clickers), humans), strict=True):
            sent, contact = msg_sent[m], msg_contact[m]
            own_agent = people[contact % len(people)]
            own_ip = person_ips[contact % len(person_ips)]
            link2 = msg_link2[m] != 0
            first = sent + _first_click_delay(rng)
            if first > span:
                first = sent + 8 * SECOND + int(rng.random() * max(0, span - sent - 8 * SECOND))
            add(first, sent, m, own_agent, own_ip, 2 if link2 and rng.random() < 0.15 else 1)
            # A message tapped many times was forwarded: most taps from other phones.
            others = 0.8 if clicks > 5 else 0.1
            for _ in range(clicks - 1):
                link = 2 if link2 and rng.random() < 0.15 else 1
                if rng.random() < others:
                    add(first + _repeat_delay(rng), first, m, rng.choice(people),
                        rng.choice(other_ips), link)  # fmt: skip
                else:
                    add(first + _repeat_delay(rng), first, m, own_agent, own_ip, link)
        return times, messages, agents, ips, links

    def _clicks(self, cursor: Any) -> None:
        times, messages, agents_of, ips_of, links_of = self._click_events()
        self.clicked = bytearray(len(self.msg_sent))  # messages with any raw click
        for m in messages:
            self.clicked[m] = 1
        order = sorted(range(len(times)), key=times.__getitem__)
        self.log(f"clicks: {len(order):,} planned and put in time order")
        click_pk = next_id(cursor, "links_messageshortlinkclick")
        columns = ("id", "click_id", "account_id", "short_link_id", "message_id", "contact_id",
                   "clicked_at", "ip", "user_agent", "referer", "accept_language", "method",
                   "is_bot", "bot_reason", "judged_at", "device", "os", "browser", "country",
                   "network")  # fmt: skip
        start, agents, ips = self.start, self.clickers.agents, self.clickers.ips
        msg_contact, msg_creative, msg_link1, msg_link2 = (
            self.msg_contact, self.msg_creative, self.msg_link1, self.msg_link2
        )  # fmt: skip
        account_of = [self.accounts[c.account].account.pk for c in self.creatives]
        language_of = [self.accounts[c.account].language for c in self.creatives]
        first_message_id = self.first_message_id
        judged_after = dt.timedelta(seconds=2)  # the behaviour worker has seen every click
        bot_clicks = 0
        with copy_rows(cursor, "links_messageshortlinkclick", columns) as write:
            for chunk_start in range(0, len(order), CHUNK):
                chunk = order[chunk_start : chunk_start + CHUNK]
                # The random part of each click id (links.ids: 6 characters of time first).
                click_ids = random_ids(len(chunk), CLICK_ID_LENGTH - CLICK_TIME_LENGTH)
                for j, e in enumerate(chunk):
                    m, agent = messages[e], agents[agents_of[e]]
                    on_link1 = links_of[e] == 1
                    clicked_at = start + dt.timedelta(microseconds=times[e])
                    creative = msg_creative[m]
                    ip = ips[ips_of[e]]
                    # The product's traits (links.traits; cached per agent and per IP).
                    traits = click_traits(str(ip), agent.user_agent)
                    write((
                        click_pk, click_time_prefix(clicked_at) + click_ids[j],
                        account_of[creative],
                        msg_link1[m] if on_link1 else msg_link2[m], first_message_id + m,
                        msg_contact[m], clicked_at, ip, agent.user_agent, "",
                        language_of[creative] if agent.sends_language else "", agent.method,
                        agent.is_bot, agent.reason, clicked_at + judged_after, traits.device,
                        traits.os, traits.browser, traits.country, traits.network,
                    ))  # fmt: skip
                    bot_clicks += agent.is_bot
                    click_pk += 1
        self.counts["raw_clicks"] = len(order)
        self.counts["bot_clicks"] = bot_clicks
        del order, times, messages, agents_of, ips_of, links_of

        # The counted clicks by the product's rule (links.counting), from the raw clicks
        # just copied; then read back, in time order, for the conversions to credit.
        # One statement for every account: one pass over the raw clicks (their indexes
        # are not built yet).
        message_clicks_build(cursor, account_ids=[plan.account.pk for plan in self.accounts])
        cursor.execute(
            "SELECT mc.id, mc.message_id, mc.offer_id, mc.clicked_at, mc.raw_click_id, mc.click_id"
            " FROM links_messageclick mc"
            " WHERE mc.account_id = ANY(%s) ORDER BY mc.clicked_at, mc.raw_click_id",
            [[plan.account.pk for plan in self.accounts]],
        )
        microsecond = dt.timedelta(microseconds=1)
        self.first_clicks = [
            FirstClick(
                id=pk, message=message_id - self.first_message_id, offer_id=offer_id,
                clicked_at=(clicked_at - start) // microsecond, click_pk=click_pk,
                click_id=click_id,
            )
            for pk, message_id, offer_id, clicked_at, click_pk, click_id in cursor.fetchall()
        ]  # fmt: skip
        self.counts["message_clicks"] = len(self.first_clicks)


def _taps(rng: random.Random, clickers: int, total: int) -> list[int]:
    """How many times each clicked message is tapped, `total` in all: most once or twice;
    what is left goes to the forwarded ones (a sixth), with a heavy tail, as a message
    shared to a group chat is opened on many phones."""
    taps = [1] * clickers
    extra = total - clickers
    for i in range(clickers):
        while extra > 0 and rng.random() < 0.3:
            taps[i] += 1
            extra -= 1
    if clickers and extra > 0:
        shared = rng.sample(range(clickers), max(1, clickers // 6))
        weights = cumulative([rng.lognormvariate(0, 1.0) for _ in shared])
        for i in rng.choices(shared, cum_weights=weights, k=extra):
            taps[i] += 1
    return taps


def _first_click_delay(rng: random.Random) -> int:
    """When a person first taps: most within the hour, some that evening, a few days later;
    never inside the scanner window after the send."""
    roll = rng.random()
    mean = 15 * MINUTE if roll < 0.55 else 4 * HOUR if roll < 0.85 else 36 * HOUR
    return 8 * SECOND + int(rng.expovariate(1 / mean))


def _repeat_delay(rng: random.Random) -> int:
    mean = 10 * MINUTE if rng.random() < 0.6 else 12 * HOUR
    return SECOND + int(rng.expovariate(1 / mean))
