"""Demo data for `make run`: an account, a dashboard login, a tracking domain on this
machine, lists, offers with each interstitial mode, and four campaigns sent in blasts over
four weeks, with the clicks of people and of scanners, conversions, postbacks and the fraud
flags they raise: a dashboard full of believable figures. Safe to re-run."""

from __future__ import annotations

import argparse
import datetime as dt
import random
import zoneinfo
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from attribution.bot_checks import clicks_judge_pending
from attribution.fraud import campaigns_click_rate_check
from attribution.models import PostbackLog
from attribution.redaction import REDACTED
from attribution.services import (
    ConversionInput,
    conversion_record,
    postback_log_close,
    postback_log_open,
)
from core.models import (
    Account,
    InterstitialTemplate,
    Membership,
    Message,
    Offer,
    SendingList,
    TrackingDomain,
)
from devdata.demo import (
    BUYING,
    CAMPAIGNS,
    DEMO_ACCOUNT,
    DEMO_HOST,
    DEMO_PASSWORD,
    DEMO_USER,
    LIST_CONTACTS,
    PAYOUT_SHARES,
    PEOPLE,
    SCANNERS,
    SMS_SEGMENT_COST,
    approval_of,
)
from devdata.demo import person_ip as demo_person_ip
from links import ids
from links.bots import classify_request
from links.clicks import click_record
from links.models import MessageShortLink
from links.resolve import link_info_load
from links.services import messages_mint
from reporting.services import rollups_build


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print where to look."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--messages", type=int, default=3000, help="About how many messages to send."
        )
        # For tests: the moment the demo is made at (its weekdays and hours follow from it).
        parser.add_argument("--now", type=dt.datetime.fromisoformat, help=argparse.SUPPRESS)

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"]
        account = Account.objects.filter(name=DEMO_ACCOUNT).first()
        self._postback_token = ""
        if account is None:
            account = self._create(port, options["messages"], options["now"] or timezone.now())
            rollups_build()  # the reports show the demo at once, not after the first beat
        TrackingDomain.objects.filter(account=account, host=DEMO_HOST).update(port=port)
        link = (
            MessageShortLink.objects.filter(
                account=account, offer__interstitial_mode=Offer.InterstitialMode.NONE
            )
            .order_by("id")
            .first()
        )
        app = f"http://{settings.APP_HOSTS[0] if settings.APP_HOSTS else 'localhost'}:{port}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Trackly is starting (embedded default: SQLite, no Redis).",
                    f"  Dashboard:  {app}/dashboard/",
                    f"  Login:      {DEMO_USER} / {DEMO_PASSWORD}",
                    f"  Admin:      {app}/admin/           (the same login)",
                    f"  Short link: http://{DEMO_HOST}:{port}/{link.link_id if link else '?'}",
                    f"  API docs:   {app}/api/v1/docs/",
                    *(
                        [f"  Postback token (shown this once): {self._postback_token}"]
                        if self._postback_token
                        else []
                    ),
                    "",
                ]
            )
        )

    @transaction.atomic
    def _create(self, port: int, message_count: int, now: dt.datetime) -> Account:
        rng = random.Random(20261124)  # noqa: S311 - demo data, not secrets
        account = Account(
            name=DEMO_ACCOUNT,
            time_zone="America/New_York",
            sms_segment_cost=Decimal(SMS_SEGMENT_COST),
        )
        self._postback_token = account.rotate_postback_token()
        account.save()
        TrackingDomain.objects.create(
            account=account,
            host=DEMO_HOST,
            https=False,
            port=port,
            is_primary=True,
            fallback_url="https://example.com/",
        )
        user_model = get_user_model()
        user = user_model.objects.filter(username=DEMO_USER).first()
        if user is None:
            user = user_model.objects.create_superuser(DEMO_USER, "demo@example.com", DEMO_PASSWORD)
        Membership.objects.get_or_create(user=user, account=account, defaults={"role": "owner"})

        welcome = InterstitialTemplate.objects.create(
            account=account,
            name="Welcome",
            title="Your exclusive offer",
            description="Tap below to claim today's deal.",
            cta_text="Claim my deal",
            og_title="An exclusive deal for you",
            og_description="Members-only pricing, today only.",
        )
        vip = InterstitialTemplate.objects.create(
            account=account,
            name="VIP",
            title="VIP early access",
            description="You're on the list. Early access starts now.",
            cta_text="Get early access",
        )
        SendingList.objects.create(account=account, name="Newsletter", default_interstitial=welcome)
        SendingList.objects.create(account=account, name="VIP", default_interstitial=vip)
        SendingList.objects.create(account=account, name="Winback", bot_detection_enabled=False)

        offers = {}
        for name, mode, template in [
            ("Spring Sale", Offer.InterstitialMode.NONE, None),
            ("Loyalty Club", Offer.InterstitialMode.LIST_DEFAULT, None),
            ("VIP Preview", Offer.InterstitialMode.CUSTOM, vip),
        ]:
            slug = name.lower().replace(" ", "-")
            offer = Offer(
                account=account,
                name=name,
                external_id=slug,
                destination_url=f"https://example.com/{slug}?sub1={{click_id}}",
                fallback_url="https://example.com/offer-ended",
                interstitial_mode=mode,
                interstitial_template=template,
                default_payout="12.50",
            )
            offer.rotate_postback_secret()
            offer.save()
            offers[name] = offer

        items = self._blasts(account, offers, rng, now, scale=message_count / 3000)
        for start in range(0, len(items), 1000):
            messages_mint(account=account, items=items[start : start + 1000])
        # What each message cost: its segments at the account's rate (as the mint fixes it).
        Message.objects.filter(account=account, cost=0, segments__isnull=False).update(
            cost=F("segments") * Decimal(SMS_SEGMENT_COST)
        )
        self._clicks_and_conversions(account, rng, now)
        # What runs in the background of a live deployment: the behavioural bot checks
        # (delivery scans, one IP fanning out) and the campaign click-rate check.
        while clicks_judge_pending():
            pass
        campaigns_click_rate_check([account.pk])
        return account

    def _blasts(
        self,
        account: Account,
        offers: dict[str, Offer],
        rng: random.Random,
        now: dt.datetime,
        scale: float,
    ) -> list[dict]:
        """Each campaign goes out in blasts on its weekdays, a few minutes per blast."""
        tz = zoneinfo.ZoneInfo(account.time_zone)
        today = now.astimezone(tz).date()
        items: list[dict] = []
        for campaign in CAMPAIGNS:
            low, high = LIST_CONTACTS[campaign.sending_list]
            creatives = list(campaign.creatives)
            for back in range(campaign.first_day, campaign.last_day - 1, -1):
                day = today - dt.timedelta(days=back)
                if day.weekday() not in campaign.weekdays:
                    continue
                blast = dt.datetime.combine(day, dt.time(campaign.hour), tz)
                size = max(1, round(campaign.size * scale * rng.uniform(0.85, 1.15)))
                for n, contact in enumerate(rng.sample(range(low, high), min(size, high - low))):
                    sent_at = blast + dt.timedelta(seconds=rng.uniform(0, 1200))
                    if sent_at > now:
                        continue
                    items.append(
                        {
                            "external_id": f"demo-{campaign.name[:6].lower()}-{day}-{n}",
                            "contact": {
                                "external_id": f"contact-{contact}",
                                "phone": f"+1415555{contact:04d}",
                            },
                            "body": f"{campaign.name}: our best prices this season. "
                            "{{link1}} Reply STOP to opt out",
                            "sent_at": sent_at.isoformat(),
                            "list": campaign.sending_list,
                            "campaign": campaign.name,
                            "creative": creatives[n % len(creatives)],
                            "links": {"link1": {"offer": offers[campaign.offer].pk}},
                        }
                    )
        return items

    def _clicks_and_conversions(
        self, account: Account, rng: random.Random, now: dt.datetime
    ) -> None:
        """Scanners at delivery, people later (some twice), some of them buying, a few
        buying without a click (view-through); postbacks logged as the network sent them;
        and two incidents for the fraud page: one IP tapping many contacts' links within a
        minute, and a sale reported seconds after its click."""
        self._injected = False
        self._postbacks = 0
        by_campaign = {c.name: c for c in CAMPAIGNS}
        links = MessageShortLink.objects.filter(account=account).select_related(
            "message__campaign", "message__creative", "offer"
        )
        fanout: list[MessageShortLink] = []
        for link in links.order_by("id").iterator():
            message = link.message
            campaign = by_campaign[message.campaign.name]
            sent_at = message.sent_at
            taps: list[tuple[dt.datetime, str, str]] = []
            if rng.random() < campaign.bots:
                at = sent_at + dt.timedelta(seconds=rng.uniform(0.3, 2.5))
                taps.append((at, rng.choice(SCANNERS), f"66.249.66.{rng.randrange(1, 255)}"))
            person_ip = demo_person_ip(rng.randrange(1, 255))
            if rng.random() < campaign.creatives[message.creative.name]:
                first = sent_at + dt.timedelta(minutes=min(rng.expovariate(1 / 40), 2880))
                taps.append((first, rng.choice(PEOPLE), person_ip))
                if rng.random() < 0.2:
                    again = first + dt.timedelta(minutes=rng.uniform(1, 300))
                    taps.append((again, taps[-1][1], person_ip))
            taps = [t for t in sorted(taps) if t[0] <= now]
            if len(fanout) < 8 and campaign.name == "Loyalty Push" and not taps:
                fanout.append(link)
            if not taps:
                self._maybe_view_through(account, link, rng, now)
                continue
            info = link_info_load(link.link_id)
            clicks = [
                click_record(
                    link=info, click_id=ids.new_click_id(at), clicked_at=at, ip=ip,
                    user_agent=ua, referer="", accept_language="en-US", method="GET",
                    verdict=classify_request(method="GET", user_agent=ua),
                )
                for at, ua, ip in taps
            ]  # fmt: skip
            human = [c for c in clicks if c.user_agent in PEOPLE and c.ip == person_ip]
            rate, revenue = BUYING[link.offer.name]
            if human and rng.random() < rate:
                soon = not self._injected and link.offer.name == "Spring Sale"
                delay = dt.timedelta(seconds=4) if soon else dt.timedelta(
                    minutes=rng.expovariate(1 / 90)
                )  # fmt: skip
                self._injected = self._injected or soon
                amount = Decimal(rng.randrange(revenue[0] * 100, revenue[1] * 100)) / 100 if (
                    revenue
                ) else None  # fmt: skip
                self._postback(
                    account, link, human[0].click_id, min(human[0].clicked_at + delay, now), amount
                )
        self._fanout(fanout, rng, now)

    def _postback(
        self,
        account: Account,
        link: MessageShortLink,
        click_id: str,
        at: dt.datetime,
        revenue: Decimal | None,
    ) -> None:
        """A network's /conv postback: logged (its token redacted, as the log keeps it),
        recorded, sometimes retried (a duplicate)."""
        params = {"click_id": click_id, "token": REDACTED, "txn_id": f"demo-{link.link_id}"}
        payout = None
        if revenue is not None:
            params["revenue"] = str(revenue)
            share = PAYOUT_SHARES.get(link.offer.name)
            if share is not None:
                payout = (revenue * Decimal(share)).quantize(Decimal("0.01"))
                params["payout"] = str(payout)
        self._postbacks += 1
        approval = approval_of(self._postbacks)
        params["status"] = approval
        for attempt in range(2 if self._postbacks % 5 == 1 else 1):  # networks retry
            log = postback_log_open(
                account_id=account.pk, endpoint="conv", method="GET", host=DEMO_HOST,
                query=urlencode(params, safe="[]"), body="", ip="198.51.100.20",
                user_agent="NetworkPostback/2.0",
            )  # fmt: skip
            PostbackLog.objects.filter(pk=log.pk).update(
                received_at=at + dt.timedelta(seconds=attempt * 30)
            )
            _, created = conversion_record(
                account=account, log=log, contact_id=link.contact_id, offer=link.offer,
                message_id=link.message_id, reported_click_id=click_id,
                data=ConversionInput(
                    event="purchase", revenue=revenue, currency="USD",
                    txn_id=params["txn_id"], occurred_at=at, payout=payout, approval=approval,
                ),
            )  # fmt: skip
            outcome = PostbackLog.Outcome.ACCEPTED if created else PostbackLog.Outcome.DUPLICATE
            postback_log_close(log, outcome=outcome, http_status=200)
        if self._postbacks % 12 == 6:  # a network sending a malformed amount, rejected
            log = postback_log_open(
                account_id=account.pk, endpoint="conv", method="GET", host=DEMO_HOST,
                query=urlencode({**params, "revenue": "USD 12"}, safe="[]"), body="",
                ip="198.51.100.20", user_agent="NetworkPostback/2.0",
            )  # fmt: skip
            postback_log_close(
                log, outcome=PostbackLog.Outcome.REJECTED, http_status=400,
                reason="revenue: 'USD 12' is not a non-negative decimal such as 25.00",
            )  # fmt: skip

    def _maybe_view_through(
        self, account: Account, link: MessageShortLink, rng: random.Random, now: dt.datetime
    ) -> None:
        """Now and then a recipient who never tapped buys anyway (view-through)."""
        if rng.random() >= 0.006:
            return
        at = min(link.message.sent_at + dt.timedelta(hours=rng.uniform(2, 48)), now)
        conversion_record(
            account=account, log=None, contact_id=link.contact_id, offer=link.offer,
            data=ConversionInput(
                event="purchase", revenue=Decimal(rng.randrange(2000, 8000)) / 100,
                currency="USD", txn_id=f"demo-vt-{link.link_id}", occurred_at=at,
            ),
        )  # fmt: skip

    def _fanout(self, links: list[MessageShortLink], rng: random.Random, now: dt.datetime) -> None:
        """One IP opening eight different contacts' links within a minute: a scanner
        dressed as a phone, which the behavioural check turns into bots and flags."""
        if not links:
            return
        start = links[0].message.sent_at + dt.timedelta(minutes=7)
        for n, link in enumerate(links):
            at = start + dt.timedelta(seconds=5 * n)
            if at > now:
                continue
            click_record(
                link=link_info_load(link.link_id), click_id=ids.new_click_id(at), clicked_at=at,
                ip="192.0.2.77", user_agent=PEOPLE[0], referer="", accept_language="en-US",
                method="GET", verdict=classify_request(method="GET", user_agent=PEOPLE[0]),
            )  # fmt: skip
