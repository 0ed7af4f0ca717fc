"""An offer's revenue_cap: a postback reporting more is a 400 naming `revenue`, logged, on
every endpoint and on both paths (Offer.revenue_within_cap; attribution.fastpath declines
above it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from attribution import fastpath
from attribution.models import Conversion, PostbackLog
from attribution.postback_input import ConversionInput
from attribution.services import conversions_pending_match, postback_log_open
from core.models import Offer
from links.models import MessageShortLinkClick
from tests.helpers import clicked, make_offer_and_secret

pytestmark = pytest.mark.django_db
CAP = Decimal("100")


def capped_offer(account: Any) -> tuple[Offer, str]:
    # The cap is on what is reported, not the default payout.
    return make_offer_and_secret(account, revenue_cap=CAP, default_payout=Decimal("150"))


def conv(account: Any, **params: Any) -> Any:
    return Client(HTTP_HOST=account.domain.host).get(
        "/conv", {"token": account.postback_token, **params}
    )


def assert_refused(response: Any) -> None:
    assert response.status_code == 400
    assert response.json()["field"] == "revenue"
    log = PostbackLog.objects.get()
    assert (log.outcome, log.http_status) == ("rejected", 400)
    assert "revenue cap" in log.reason
    assert not Conversion.objects.exists()


@pytest.mark.parametrize("by", ["click_id", "link_id"])
def test_conv_above_the_cap_is_a_400_where_the_fast_path_would_credit(owner: Any, by: str) -> None:
    offer, _ = capped_offer(owner)
    link_id, click_id = clicked(owner, offer)  # a credited click: the fast path's case
    ref = click_id if by == "click_id" else link_id
    assert_refused(conv(owner, **{by: ref}, revenue="100.0001"))


def test_conv_above_the_cap_is_a_400_on_the_full_path(owner: Any, monkeypatch: Any) -> None:
    offer, _ = capped_offer(owner)
    _, click_id = clicked(owner, offer)
    monkeypatch.setattr(connection, "vendor", "sqlite")  # the embedded default: no fast path
    assert_refused(conv(owner, click_id=click_id, revenue="250"))


def test_conv_at_the_cap_or_without_revenue_is_accepted(owner: Any) -> None:
    offer, _ = capped_offer(owner)
    _, click_id = clicked(owner, offer)
    assert conv(owner, click_id=click_id, revenue="100", txn_id="a").json()["status"] == "accepted"
    assert conv(owner, click_id=click_id, txn_id="b").json()["status"] == "accepted"
    revenues = sorted(Conversion.objects.values_list("revenue", flat=True))
    assert revenues == [Decimal("100"), Decimal("150")]


def test_conv_offer_above_the_cap_is_a_400(owner: Any) -> None:
    offer, secret = capped_offer(owner)
    response = Client(HTTP_HOST=owner.domain.host).get(
        "/conv/offer", {"offer_id": offer.pk, "secret": secret, "revenue": "101"}
    )
    assert_refused(response)


def test_a_pixel_above_the_cap_still_gets_the_gif_and_is_logged(make_account: Any) -> None:
    account = make_account(require_postback_token=False)  # so the pixel's revenue counts
    offer, _ = capped_offer(account)
    link_id, _ = clicked(account, offer)
    response = Client(HTTP_HOST=account.domain.host).get(
        f"/pixel/{link_id}.gif", {"revenue": "1000"}
    )
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    log = PostbackLog.objects.get()
    assert (log.outcome, log.http_status) == ("rejected", 400)
    assert not Conversion.objects.exists()


def test_a_pending_conversion_above_its_offers_cap_is_kept_but_never_credited(
    owner: Any,
) -> None:
    offer, _ = capped_offer(owner)
    early = "E" * 16
    assert conv(owner, click_id=early, revenue="5000").status_code == 202  # offer unknown yet
    _, click_id = clicked(owner, offer)
    MessageShortLinkClick.objects.filter(click_id=click_id).update(click_id=early)
    assert conversions_pending_match() == 1
    conversion = Conversion.objects.get()
    assert conversion.status == "accepted" and conversion.message_click is None
    assert conversion.attribution_type == "none"
    assert "above the offer's revenue cap" in conversion.unattributed_reason


@pytest.mark.parametrize(
    ("revenue", "credited"),
    [(Decimal("99.9999"), True), (CAP, True), (Decimal("100.0001"), False), (None, True)],
)
def test_the_fast_path_declines_exactly_where_the_rule_refuses(
    owner: Any, revenue: Decimal | None, credited: bool
) -> None:
    offer, _ = capped_offer(owner)
    _, click_id = clicked(owner, offer)
    assert (revenue is None or offer.revenue_within_cap(revenue)) is credited
    log = postback_log_open(
        account_id=owner.account.pk, endpoint="conv", method="GET", host="h", query="", body="",
        ip=None, user_agent="",
    )  # fmt: skip
    data = ConversionInput("conversion", revenue, "", None, timezone.now())
    got = fastpath.conversion_credit(
        account_id=owner.account.pk, data=data, log=log, click_id=click_id
    )
    assert (got is not None) is credited
    assert Conversion.objects.exists() is credited


class TestTheOffersApi:
    def test_it_sets_and_shows_the_cap(self, owner: Any) -> None:
        created = owner.post(
            "/api/v1/offers",
            {"name": "O", "destination_url": "https://a.example/", "revenue_cap": "49.90"},
        )
        assert created.status_code == 201, created.content
        assert created.json()["revenue_cap"] == "49.9000"
        offer_id = created.json()["id"]
        cleared = owner.client.patch(
            f"/api/v1/offers/{offer_id}", {"revenue_cap": None}, format="json"
        )
        assert cleared.json()["revenue_cap"] is None
        assert Offer.objects.get(pk=offer_id).revenue_cap is None

    @pytest.mark.parametrize("cap", ["-1", "abc", "1e20"])
    def test_a_bad_cap_is_a_400_naming_it(self, owner: Any, cap: str) -> None:
        response = owner.post(
            "/api/v1/offers",
            {"name": "O", "destination_url": "https://a.example/", "revenue_cap": cap},
        )
        assert response.status_code == 400
        assert "revenue_cap" in response.json()["errors"]
