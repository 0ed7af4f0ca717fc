"""Demo data for `make run`: an account, a login, a tracking domain on this machine, lists,
offers with each interstitial mode, campaigns and a few thousand messages. Safe to re-run."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone

from attribution.bots import classify_request
from attribution.services import ConversionInput, conversion_record
from links import ids
from links.models import InterstitialTemplate, MessageShortLink, TrackingDomain
from links.resolve import link_info_load
from links.services import click_record, messages_mint
from reporting.services import rollups_build
from trackly.models import Account, Membership, Offer, SendingList

DEMO_ACCOUNT = "Demo Co"
DEMO_USER = "demo"
DEMO_PASSWORD = "trackly-demo"  # noqa: S105 - a local demo login, printed on purpose
DEMO_HOST = "127.0.0.1"


class Command(BaseCommand):
    help = "Load demo data (idempotent) and print where to look."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--messages", type=int, default=3000)

    def handle(self, *args: Any, **options: Any) -> None:
        port = options["port"]
        account = Account.objects.filter(name=DEMO_ACCOUNT).first()
        if account is None:
            account = self._create(port, options["messages"])
            rollups_build()  # the reports show the demo at once, not after the first beat
        TrackingDomain.objects.filter(account=account, host=DEMO_HOST).update(port=port)
        link = (
            MessageShortLink.objects.filter(
                account=account, offer__interstitial_mode=Offer.InterstitialMode.NONE
            )
            .order_by("id")
            .first()
        )
        app_host = settings.APP_HOSTS[0] if settings.APP_HOSTS else "localhost"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Trackly is starting (embedded default: SQLite, no Redis).",
                    f"  Dashboard:  http://{app_host}:{port}/admin/",
                    f"  Login:      {DEMO_USER} / {DEMO_PASSWORD}",
                    f"  Short link: http://{DEMO_HOST}:{port}/{link.link_id if link else '?'}",
                    f"  API docs:   http://{app_host}:{port}/api/v1/docs/",
                    "",
                ]
            )
        )

    @transaction.atomic
    def _create(self, port: int, message_count: int) -> Account:
        rng = random.Random(20261124)  # noqa: S311 - demo data, not secrets
        account = Account.objects.create(name=DEMO_ACCOUNT, time_zone="America/New_York")
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

        offers = []
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
            offers.append(offer)

        now = timezone.now()
        campaigns = ["Spring Launch", "Loyalty Push", "VIP Weekend"]
        lists = ["Newsletter", "VIP", "Winback"]
        items = []
        for i in range(message_count):
            c = rng.randrange(3)
            offer = offers[c]
            items.append(
                {
                    "external_id": f"demo-{i}",
                    "contact": {
                        "external_id": f"contact-{rng.randrange(message_count // 2)}",
                        "phone": f"+1415555{rng.randrange(10000):04d}",
                    },
                    "body": f"{campaigns[c]}: our best prices this season. {{{{link1}}}} "
                    "Reply STOP to opt out",
                    "sent_at": (now - dt.timedelta(days=rng.uniform(0, 28))).isoformat(),
                    "list": lists[rng.randrange(3)],
                    "campaign": campaigns[c],
                    "creative": f"{campaigns[c]} / variant {'AB'[rng.randrange(2)]}",
                    "links": {"link1": {"offer": offer.pk}},
                }
            )
        for start in range(0, len(items), 1000):
            messages_mint(account=account, items=items[start : start + 1000])
        self._clicks_and_conversions(account, rng)
        return account

    def _clicks_and_conversions(self, account: Account, rng: random.Random) -> None:
        """Scanners at delivery, people later (some twice), and some of them buying."""
        people = ["Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
                  "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
                  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/124.0.0.0 Mobile Safari/537.36"]  # fmt: skip
        bots = ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", ""]
        now = timezone.now()
        links = MessageShortLink.objects.filter(account=account).select_related("message")
        for link in links.iterator():
            info = link_info_load(link.link_id)
            sent_at = link.message.sent_at
            taps: list[tuple[dt.datetime, str]] = []
            if rng.random() < 0.08:
                taps.append((sent_at + dt.timedelta(seconds=rng.uniform(0.5, 3)), rng.choice(bots)))
            if rng.random() < 0.22:
                first = sent_at + dt.timedelta(minutes=rng.expovariate(1 / 45))
                taps.append((first, rng.choice(people)))
                if rng.random() < 0.2:
                    taps.append(
                        (first + dt.timedelta(minutes=rng.uniform(1, 300)), rng.choice(people))
                    )
            for at, ua in sorted(taps):
                if at > now:
                    continue
                click_record(
                    link=info, click_id=ids.new_click_id(), clicked_at=at,
                    ip=f"203.0.113.{rng.randrange(1, 255)}", user_agent=ua, referer="",
                    accept_language="en-US", method="GET",
                    verdict=classify_request(method="GET", user_agent=ua),
                )  # fmt: skip
            human = [at for at, ua in taps if ua in people and at <= now]
            if human and rng.random() < 0.12:
                converted_at = min(human[0] + dt.timedelta(minutes=rng.expovariate(1 / 90)), now)
                conversion_record(
                    account=account, log=None, contact_id=link.contact_id, offer=link.offer,
                    message_id=link.message_id, reported_link=link,
                    data=ConversionInput(
                        event="purchase", revenue=Decimal(rng.randrange(1000, 9000)) / 100,
                        currency="USD", txn_id=f"demo-{link.link_id}", occurred_at=converted_at,
                    ),
                )  # fmt: skip
