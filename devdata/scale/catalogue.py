"""Who the scale data is about: accounts with their lists, offers, campaigns and creatives
(made with the ORM, a few dozen rows), and who clicks (user agents with the product's own
verdicts, and IP ranges)."""

from __future__ import annotations

import ipaddress
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model

from core.models import (
    Account,
    Campaign,
    Creative,
    InterstitialTemplate,
    Membership,
    Offer,
    SendingList,
    TrackingDomain,
)
from core.services import account_create
from links.bots import classify_request
from links.segments import sms_segments

# (name, slug, time zone, currency, language, phone prefix). More accounts than presets get
# plain names.
ACCOUNT_PRESETS = [
    ("Northwind Outfitters", "northwind", "America/New_York", "USD", "en-US", "+1301"),
    ("Lumen Mobile", "lumen", "Europe/London", "GBP", "en-GB", "+447700"),
    ("Koala Coffee Co", "koala", "Australia/Sydney", "AUD", "en-AU", "+6140"),
]
# (name, first and last fraction of the account's contacts it holds, click-rate multiplier)
LISTS = [
    ("Newsletter", 0.0, 0.8, 1.0),
    ("VIP", 0.0, 0.15, 1.45),
    ("Winback", 0.5, 1.0, 0.6),
    ("New Subscribers", 0.8, 1.0, 1.2),
]
# (name, payout, click window in days (None: the account's), event)
# What the marketer earns of a sale's revenue, per offer in OFFERS' order (cycled): some
# networks pay the whole sale, most a commission.
PAYOUT_SHARES = (1.0, 0.75, 1.0, 0.6, 0.9)
# What a message costs: its segments times this (the accounts' sms_segment_cost).
SMS_SEGMENT_COST = Decimal("0.0079")
OFFERS = [
    ("Spring Collection", "45.00", None, "purchase"),
    ("Free Shipping Weekend", "28.00", 7, "purchase"),
    ("Loyalty Rewards Signup", "5.00", 30, "lead"),
    ("VIP Early Access", "120.00", None, "purchase"),
    ("Clearance", "18.50", 14, "purchase"),
]
# Conversions from a partner site: an offer no message carries, so its contact-level
# conversions are never attributed ("no click on this offer").
PARTNER_OFFER = ("Partner Referral", "60.00", None, "purchase")
# (name, offer of creatives A and B, offer of creative C, what the message says)
CAMPAIGNS = [
    ("Spring Launch", 0, 4, "New season, new looks. Shop the spring collection"),
    ("Weekend Flash Sale", 1, 4, "48 hours only: free shipping on everything"),
    ("Loyalty Push", 2, 0, "Join our rewards club and get 500 points today"),
    ("VIP Preview", 3, 0, "VIPs shop first. Early access opens now"),
    ("Back in Stock", 0, 1, "Your favourites are back in stock"),
    ("Clearance Countdown", 4, 1, "Up to 60% off while it lasts"),
]
# (creative name, click-rate multiplier, has a second link without an offer)
VARIANTS = [("A", 1.0, False), ("B", 1.2, True), ("C", 0.8, False)]

PEOPLE_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; moto g stylus 5G) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/458.0.0.40.107;FBBV/567890123;FBDV/iPhone15,2]",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Mobile/15E148 Instagram 320.0.2.28.108 (iPhone14,5; iOS 17_3; en_US)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
]
PREVIEW_AGENTS = [
    "facebookexternalhit/1.1 Facebot Twitterbot/1.0",  # iMessage link previews
    "Mozilla/5.0 (Linux; Android 11) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/112.0 "
    "Mobile Safari/537.36 Google-PageRenderer Google (+https://developers.google.com/+/web/"
    "snippet/)",
    "WhatsApp/2.23.20.0 A",
]
LIBRARY_AGENTS = [
    "python-requests/2.31.0",
    "curl/8.4.0",
    "okhttp/4.12.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
]

SECOND = 1_000_000  # times are integer microseconds from the start of the period
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


@dataclass(frozen=True)
class OfferPlan:
    id: int
    payout_cents: int
    window_days: int  # the offer's click window, else the account's
    event: str
    url: str
    payout_share: float = 1.0  # payout = revenue * this


@dataclass
class AccountPlan:
    account: Account
    slug: str
    base_url: str
    language: str
    phone_prefix: str
    username: str
    password: str
    api_key: str
    postback_token: str
    messages: int
    contacts: int
    first_contact_id: int = 0
    offers: list[OfferPlan] = field(default_factory=list)
    partner_offer: OfferPlan | None = None


@dataclass(frozen=True)
class ListPlan:
    id: int
    first_contact: int  # contacts [first_contact, end_contact) of the account
    end_contact: int
    ctr_factor: float


@dataclass(frozen=True)
class CreativePlan:
    account: int  # index into the accounts
    campaign_id: int
    creative_id: int
    offer: int  # index into the account's offers
    ctr: float
    has_link2: bool
    body: str
    rewritten: str  # the body with {0} and {1} where the short URLs go
    segments: int


def account_plan_create(
    index: int, messages: int, rng: random.Random
) -> tuple[AccountPlan, list[ListPlan], list[CreativePlan]]:
    """An account made the way `create_account` makes one (tracking domain, API key,
    postback token), with
    a dashboard login and its catalogue."""
    if index < len(ACCOUNT_PRESETS):
        name, slug, tz, currency, language, phone = ACCOUNT_PRESETS[index]
    else:
        name, slug, tz, currency, language, phone = (
            f"Scale Account {index + 1}", f"account{index + 1}", "UTC", "USD", "en-US", "+1302"
        )  # fmt: skip
    host, n = f"go.{slug}.example", 1
    while TrackingDomain.objects.filter(host=host).exists():  # an earlier load's
        n += 1
        host = f"go.{slug}{n}.example"
    new = account_create(name=name, domain=host)
    account, api_key = new.account, new.api_key
    account.time_zone, account.currency = tz, currency
    account.sms_segment_cost = SMS_SEGMENT_COST
    account.save(update_fields=["time_zone", "currency", "sms_segment_cost"])
    password = secrets.token_urlsafe(12)
    user = get_user_model().objects.create_user(
        f"scale-{slug}-{account.pk}", f"{slug}@example.com", password
    )
    Membership.objects.create(user=user, account=account, role=Membership.Role.OWNER)
    plan = AccountPlan(
        account=account, slug=slug, base_url=f"https://{host}", language=language,
        phone_prefix=phone, username=user.username, password=password, api_key=api_key,
        postback_token=new.postback_token, messages=messages, contacts=max(10, messages // 4),
    )  # fmt: skip
    lists = _lists(plan)
    _offers(plan)
    return plan, lists, _creatives(index, plan, rng)


def _lists(plan: AccountPlan) -> list[ListPlan]:
    out = []
    for name, first, last, ctr_factor in LISTS:
        sending_list = SendingList.objects.create(account=plan.account, name=name)
        out.append(
            ListPlan(
                sending_list.pk,
                int(first * plan.contacts),
                max(1, int(last * plan.contacts)),
                ctr_factor,
            )
        )
    return out


def _offers(plan: AccountPlan) -> None:
    account = plan.account
    vip = InterstitialTemplate.objects.create(
        account=account, name="VIP", title="VIP early access", cta_text="Shop now"
    )
    for index, (name, payout, window, event) in enumerate([*OFFERS, PARTNER_OFFER]):
        slug = name.lower().replace(" ", "-")
        custom = name == "VIP Early Access"
        offer = Offer(
            account=account,
            name=name,
            destination_url=f"https://shop.{plan.slug}.example/{slug}?sub1={{click_id}}",
            fallback_url=f"https://shop.{plan.slug}.example/",
            default_payout=Decimal(payout),
            click_window_days=window,
            interstitial_mode=(
                Offer.InterstitialMode.CUSTOM if custom else Offer.InterstitialMode.NONE
            ),
            interstitial_template=vip if custom else None,
        )
        offer.rotate_postback_secret()
        offer.save()
        offer_plan = OfferPlan(
            offer.pk,
            int(Decimal(payout) * 100),
            window or account.default_click_window_days,
            event,
            offer.destination_url,
            PAYOUT_SHARES[index % len(PAYOUT_SHARES)],
        )
        if name == PARTNER_OFFER[0]:
            plan.partner_offer = offer_plan
        else:
            plan.offers.append(offer_plan)


def _creatives(index: int, plan: AccountPlan, rng: random.Random) -> list[CreativePlan]:
    account, out = plan.account, []
    brand = account.name.split()[0]
    sample_url = f"{plan.base_url}/Ab3xK9q"
    for name, main_offer, other_offer, line in CAMPAIGNS:
        campaign = Campaign.objects.create(account=account, name=name)
        ctr = rng.uniform(0.16, 0.4)
        for variant, ctr_factor, link2 in VARIANTS:
            creative = Creative.objects.create(
                account=account, campaign=campaign, name=f"{name} / {variant}"
            )
            if link2:
                body = f"{brand}: {line}! {{{{link1}}}} Find a store: {{{{link2}}}}"
            else:
                body = f"{brand}: {line}. {{{{link1}}}}"
            body += " Reply STOP to opt out"
            rewritten = body.replace("{{link1}}", "{0}").replace("{{link2}}", "{1}")
            out.append(
                CreativePlan(
                    account=index,
                    campaign_id=campaign.pk,
                    creative_id=creative.pk,
                    offer=other_offer if variant == "C" else main_offer,
                    ctr=ctr * ctr_factor,
                    has_link2=link2,
                    body=body,
                    rewritten=rewritten,
                    segments=sms_segments(rewritten.format(sample_url, sample_url)),
                )
            )
    return out


# -- who clicks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Agent:
    """Who made a click: user agent, method, and the verdict the product gives it."""

    user_agent: str
    method: str
    is_bot: bool
    reason: str
    sends_language: bool  # browsers (and scanners posing as them) send Accept-Language


@dataclass(frozen=True)
class BotKind:
    """A kind of automated click: its share of bot clicks, how long after the send it comes,
    which agents and IPs it uses."""

    name: str
    share: float
    delay: Callable[[random.Random], int]
    agents: list[int]  # indices into Clickers.agents
    ips: list[int]  # indices into Clickers.ips
    both_links: bool = False  # link previews fetch every link of a message
    fans_out: bool = False  # one IP per list: opens the links of a whole blast


def _between(low: int, high: int) -> Callable[[random.Random], int]:
    return lambda rng: rng.randint(low, high)


def _around(mean: int) -> Callable[[random.Random], int]:
    return lambda rng: SECOND + int(rng.expovariate(1 / mean))


class Clickers:
    """The agents and IPs clicks come from, each agent with the verdict the product's
    classifier gives it, or the behaviour worker's reason for scanners that look human."""

    def __init__(self) -> None:
        self.agents: list[Agent] = []
        self.ips: list[ipaddress.IPv4Address] = []
        self.people = [self._agent(ua) for ua in PEOPLE_AGENTS]
        # People: each contact on a carrier IP (carrier NAT: a few contacts share one);
        # forwarded messages opened from anywhere.
        self.person_ips = self._ip_range("172.56.0.0", 65_521)
        self.other_ips = self._ip_range("98.0.0.0", 20_000)
        scanners = self._ip_range("34.96.0.0", 40)
        security = self._ip_range("52.18.0.0", 12)
        crawlers = self._ip_range("66.249.64.0", 30)
        ms = SECOND // 1000
        self.bot_kinds = [
            # Carrier scanners and link previews at delivery, inside the list's 3-second
            # scanner window.
            BotKind("link-preview", 0.45, _between(300 * ms, 2500 * ms),
                    [self._bot(ua) for ua in PREVIEW_AGENTS], scanners, both_links=True),
            BotKind("delivery-scan", 0.2, _between(200 * ms, 2900 * ms),
                    [self._bot(ua, "behaviour:delivery-scan") for ua in PEOPLE_AGENTS[:5]],
                    scanners),
            BotKind("head-request", 0.08, _between(500 * ms, 30 * SECOND),
                    [self._bot(PEOPLE_AGENTS[0], method="HEAD")], scanners, both_links=True),
            # Email-style security scanners: one IP opening many contacts' links at once.
            BotKind("ip-fanout", 0.12, _between(5 * SECOND, 50 * SECOND),
                    [self._bot(ua, "behaviour:ip-fanout") for ua in PEOPLE_AGENTS[:3]],
                    security, fans_out=True),
            BotKind("library", 0.1, _around(6 * HOUR),
                    [self._bot(ua) for ua in LIBRARY_AGENTS], crawlers),
            BotKind("empty", 0.05, _around(HOUR), [self._bot("")], crawlers),
        ]  # fmt: skip

    def _agent(self, ua: str) -> int:
        verdict = classify_request(method="GET", user_agent=ua)
        assert not verdict.is_bot, f"not a person's agent: {ua}"
        self.agents.append(Agent(ua, "GET", False, "", True))
        return len(self.agents) - 1

    def _bot(self, ua: str, behaviour: str = "", method: str = "GET") -> int:
        verdict = classify_request(method=method, user_agent=ua)
        if behaviour:
            assert not verdict.is_bot, f"the classifier already calls it a bot: {ua}"
            self.agents.append(Agent(ua, method, True, behaviour, True))
        else:
            assert verdict.is_bot, f"the classifier calls it a person: {ua}"
            self.agents.append(Agent(ua, method, True, verdict.reason, False))
        return len(self.agents) - 1

    def _ip_range(self, first: str, count: int) -> list[int]:
        base, start = int(ipaddress.IPv4Address(first)), len(self.ips)
        self.ips.extend(ipaddress.IPv4Address(base + n) for n in range(count))
        return list(range(start, start + count))
