"""A postback's values held to their bounds: `ts` and `revenue` to core.bounds; a NUL, a
non-ASCII digit or a method /conv does not take is a logged 4xx, never a 500."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from attribution.models import Conversion, PostbackLog
from attribution.postback_input import PostbackInvalid, parse_revenue, parse_ts
from tests.helpers import tracking

NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)


class TestTs:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("2000-01-01T00:00:00Z", dt.datetime(2000, 1, 1, tzinfo=dt.UTC)),
            ("2026-12-02T12:00:00Z", NOW + dt.timedelta(days=1)),
            (str(int((NOW + dt.timedelta(days=1)).timestamp())), NOW + dt.timedelta(days=1)),
        ],
    )
    def test_from_2000_to_a_day_ahead_is_read(self, value: str, expected: dt.datetime) -> None:
        assert parse_ts(value, NOW) == expected

    @pytest.mark.parametrize(
        "value", ["1999-12-31T23:59:59Z", "2026-12-02T12:00:01Z", "0001-01-01", "9999-12-31"]
    )
    def test_outside_is_refused_naming_ts(self, value: str) -> None:
        with pytest.raises(PostbackInvalid) as caught:
            parse_ts(value, NOW)
        assert (caught.value.field, caught.value.message) == (
            "ts",
            "Must be from 2000-01-01 to a day from now.",
        )


class TestRevenue:
    def test_what_the_revenue_column_holds_is_read(self) -> None:
        assert parse_revenue("9999999999.9999", Decimal(0)) == Decimal("9999999999.9999")
        assert parse_revenue("1.23456", Decimal(0)) == Decimal("1.2346")  # as stored

    @pytest.mark.parametrize("value", ["10000000000", "9999999999.99995", "1" * 40])
    def test_more_than_it_holds_is_refused_naming_revenue(self, value: str) -> None:
        with pytest.raises(PostbackInvalid) as caught:
            parse_revenue(value, Decimal(0))
        assert caught.value.field == "revenue"


@pytest.mark.django_db
def test_a_postback_with_a_ts_two_days_ahead_is_a_logged_400(make_account: Any) -> None:
    account = make_account(require_postback_token=False)  # the token is not what is tested
    message = account.mint(body="https://a.example/")
    ahead = (timezone.now() + dt.timedelta(days=2)).isoformat()
    response = Client(HTTP_HOST=account.domain.host).get(
        "/conv", {"link_id": message["links"][0]["link_id"], "ts": ahead}
    )
    assert response.status_code == 400 and response.json()["field"] == "ts"
    log = PostbackLog.objects.get()
    assert (log.outcome, log.http_status) == ("rejected", 400)
    assert not Conversion.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("offset", ["+20:00", "-23:59", "+15:59"])
def test_a_ts_at_any_offset_iso_allows_is_stored_as_its_utc_time(
    make_account: Any, offset: str
) -> None:
    # PostgreSQL refuses offsets past ±15:59; the time itself is fine.
    account = make_account(require_postback_token=False)
    message = account.mint(body="https://a.example/")
    ts = dt.datetime(2024, 6, 1, tzinfo=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S") + offset
    response = Client(HTTP_HOST=account.domain.host).get(
        "/conv", {"link_id": message["links"][0]["link_id"], "ts": ts, "txn_id": "t"}
    )
    assert response.status_code == 200, response.content
    assert Conversion.objects.get().occurred_at == dt.datetime.fromisoformat(ts)


@pytest.mark.django_db
class TestBadValues:
    @pytest.mark.parametrize(
        "params",
        [
            {"txn_id": "a\x00b"},
            {"event": "\x00"},
            {"ts": "0001-01-01"},
            {"ts": "99999999999"},
            {"ts": "2999-01-01T00:00:00Z"},
        ],
    )
    def test_they_are_400s_and_logged(self, owner: Any, params: dict) -> None:
        message = owner.mint(body="https://a.example/")
        response = tracking(owner).get(
            "/conv",
            {"link_id": message["links"][0]["link_id"], "token": owner.postback_token, **params},
        )
        assert response.status_code == 400
        log = PostbackLog.objects.get()
        assert (log.outcome, log.http_status) == ("rejected", 400)

    def test_a_post_body_with_nul_is_logged_and_refused(self, owner: Any) -> None:
        response = tracking(owner).post(
            "/conv", "click_id=abc%00&x=\x00", content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 400
        assert "\x00" not in PostbackLog.objects.get().body

    def test_a_unicode_digit_offer_id_is_400(self, owner: Any) -> None:
        response = tracking(owner).get("/conv/offer", {"offer_id": "²", "secret": "x"})
        assert response.status_code == 400 and response.json()["field"] == "offer_id"

    @pytest.mark.parametrize("method", ["head", "put", "delete"])
    def test_other_methods_are_logged_and_refused(self, owner: Any, method: str) -> None:
        response = getattr(tracking(owner), method)("/conv")
        assert response.status_code == 405 and response["Allow"] == "GET, POST"
        assert PostbackLog.objects.get().http_status == 405
