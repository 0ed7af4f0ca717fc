"""`make run`'s demo: the login it prints opens a dashboard full of believable figures."""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from attribution.models import Conversion, FraudFlag, PostbackLog
from core.models import Account, Campaign
from links.models import MessageShortLinkClick
from reporting.report_params import ReportFilters
from reporting.reports import report


def last_wednesday_noon() -> dt.datetime:
    """The demo's "now": the same weekday and hour whenever the suite runs (which days
    have blasts, and which blasts have been sent, follow from it), and recent."""
    now = timezone.now().astimezone(dt.UTC)
    noon = now.replace(hour=12, minute=0, second=0, microsecond=0)
    noon -= dt.timedelta(days=(noon.weekday() - 2) % 7)
    return noon if noon <= now else noon - dt.timedelta(days=7)


@pytest.fixture
def demo(db: Any, settings: Any) -> str:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = io.StringIO()
    now = last_wednesday_noon().isoformat()
    call_command("load_demo", "--port", "8123", "--messages", "600", "--now", now, stdout=out)
    return out.getvalue()


def test_it_prints_the_dashboard_and_a_login_that_works(demo: str) -> None:
    dashboard = re.search(r"Dashboard: +(http://localhost:8123/dashboard/)\n", demo)
    login = re.search(r"Login: +(\S+) / (\S+)\n", demo)
    assert dashboard and login, demo
    client = Client(HTTP_HOST="localhost")
    response = client.post(
        "/accounts/login/",
        {"username": login[1], "password": login[2], "next": "/dashboard/"},
        follow=True,
    )
    account = Account.objects.get(name="Demo Co")
    assert response.redirect_chain[-1][0] == f"/dashboard/{account.pk}/"
    assert b'data-metric="revenue"' in response.content


def test_the_demo_is_weeks_of_campaigns_with_bots_conversions_and_flags(demo: str) -> None:
    account = Account.objects.get(name="Demo Co")
    assert Campaign.objects.filter(account=account).count() == 4
    days = report(account, "days", ReportFilters()).rows
    assert len(days) >= 10  # blasts on many days over four weeks
    totals = report(account, "campaigns", ReportFilters()).totals
    assert totals["sends"] >= 400
    assert 0.1 < totals["bot_pct"] < 0.6  # scanners and previews, but mostly people
    assert totals["unique_clicks"] > 50 and totals["conversions"] > 5
    assert totals["revenue"] > 100 and totals["view_through_conversions"] > 0
    reasons = set(
        MessageShortLinkClick.objects.filter(account=account, is_bot=True).values_list(
            "bot_reason", flat=True
        )
    )
    assert {"behaviour:delivery-scan", "behaviour:ip-fanout"} <= reasons and len(reasons) >= 5
    assert {f.kind for f in FraudFlag.objects.filter(account=account)} >= {
        FraudFlag.Kind.CLICK_FLOOD,
        FraudFlag.Kind.CLICK_INJECTION,
    }
    outcomes = set(PostbackLog.objects.filter(account=account).values_list("outcome", flat=True))
    assert {"accepted", "duplicate"} <= outcomes
    assert Conversion.objects.filter(account=account, postback_log__isnull=False).exists()


def test_the_demo_account_requires_the_postback_token_it_prints_once(demo: str) -> None:
    token = re.search(r"Postback token \(shown this once\): (pbt_\S+)\n", demo)
    assert token, demo
    account = Account.objects.get(name="Demo Co")
    assert account.require_postback_token and account.postback_token_matches(token[1])
    queries = PostbackLog.objects.filter(account=account, endpoint="conv").values_list(
        "query", flat=True
    )
    assert queries and all("token=[redacted]&" in query for query in queries)
    response = Client(HTTP_HOST="127.0.0.1").get("/conv", {"link_id": "Abcdefg"})
    assert response.status_code == 403
    again = io.StringIO()
    call_command("load_demo", "--port", "8123", stdout=again)
    assert "pbt_" not in again.getvalue()


def test_running_it_again_changes_nothing(demo: str) -> None:
    before = MessageShortLinkClick.objects.count()
    out = io.StringIO()
    call_command("load_demo", "--port", "8124", stdout=out)
    assert MessageShortLinkClick.objects.count() == before
    assert "http://localhost:8124/dashboard/" in out.getvalue()
    assert Account.objects.filter(name="Demo Co").count() == 1
