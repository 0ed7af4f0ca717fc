"""What `load_demo` makes (devdata/management/commands/load_demo.py): the demo account's
login and host, the user agents of people and scanners, the campaigns with their blast days,
lists, tap rates and bot shares, and who buys what."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_ACCOUNT = "Demo Co"
DEMO_USER = "demo"
DEMO_PASSWORD = "trackly-demo"  # noqa: S105 - a local demo login, printed on purpose
DEMO_HOST = "127.0.0.1"
DEMO_DAYS = 28

PEOPLE = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/450.0.0.38.108]",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
]
# Where people tap from: carrier and home networks, mostly American (the demo account is
# in New York), some abroad, so the click's country and network (links.traits) vary. Each
# a /24 of one network and country in geoip2fast's data; a person's address is one of them.
PERSON_NETWORKS = [
    "73.0.0.",  # Comcast, US
    "172.56.0.",  # T-Mobile, US
    "174.192.0.",  # Verizon Wireless, US
    "98.0.0.",  # Spectrum, US
    "73.162.0.",  # Comcast, US
    "99.224.0.",  # Rogers, CA
    "86.0.0.",  # Virgin Media, GB
    "79.192.0.",  # Deutsche Telekom, DE
    "90.0.0.",  # Orange, FR
    "189.0.0.",  # Telefonica Brasil, BR
]


def person_ip(n: int) -> str:
    """The n-th (1..254) address people tap from."""
    return f"{PERSON_NETWORKS[n % len(PERSON_NETWORKS)]}{n}"


# What fetches a link at delivery: message-app previews, carrier and security scanners,
# crawlers and scripts (each classified by its user agent), and scanners that pretend to
# be a phone (caught by the delivery-scan rule, attribution.bot_checks).
SCANNERS = [
    "facebookexternalhit/1.1 Facebot Twitterbot/1.0",
    "WhatsApp/2.23.20.0 A",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "",
    "python-requests/2.31.0",
    PEOPLE[1],
]


@dataclass(frozen=True)
class DemoCampaign:
    name: str
    offer: str
    sending_list: str
    first_day: int  # days before today
    last_day: int
    weekdays: tuple[int, ...]  # blast days, Monday = 0
    hour: int  # local time of the blast
    size: int  # messages per blast, for --messages 3000
    creatives: dict[str, float]  # creative -> share of recipients who tap
    bots: float  # share of messages a scanner or preview fetches at delivery


CAMPAIGNS = [
    DemoCampaign("Spring Launch", "Spring Sale", "Newsletter", 27, 8, (1, 3), 10, 210,
                 {"Spring Launch / 20% off": 0.15, "Spring Launch / free shipping": 0.23}, 0.07),
    DemoCampaign("Loyalty Push", "Loyalty Club", "Newsletter", 27, 0, (0,), 12, 250,
                 {"Loyalty / points reminder": 0.11, "Loyalty / double points": 0.18}, 0.06),
    DemoCampaign("VIP Weekend", "VIP Preview", "VIP", 13, 0, (4, 5), 18, 110,
                 {"VIP / early access": 0.26}, 0.04),
    DemoCampaign("Winback", "Spring Sale", "Winback", 20, 0, (2,), 11, 170,
                 {"Winback / we miss you": 0.06}, 0.45),
]  # fmt: skip
LIST_CONTACTS = {"Newsletter": (0, 1300), "VIP": (1100, 1400), "Winback": (1400, 1900)}
# offer -> the share of a sale's revenue the marketer earns (payout); missing: all of it.
PAYOUT_SHARES = {"Spring Sale": "0.80", "VIP Preview": "0.65"}
# What an SMS segment costs the demo account (its sms_segment_cost).
SMS_SEGMENT_COST = "0.0079"


def approval_of(n: int) -> str:
    """The network's verdict on the demo's n-th postback: mostly approved, every ninth
    still pending, a few rejected or reversed."""
    if n % 23 == 0:
        return "reversed"
    if n % 17 == 0:
        return "rejected"
    return "pending" if n % 9 == 0 else "approved"


# offer -> (share of people who tap and then buy, revenue range; None: the default payout)
BUYING = {
    "Spring Sale": (0.13, (24, 119)),
    "Loyalty Club": (0.10, None),
    "VIP Preview": (0.22, (89, 259)),
}
