"""The conversions page's approval and payout (and its ?approval= filter) and the
conversion page (reporting/conversion_views.py): the conversion, its credit, its
adjustments, and the correction form, for config roles only, with CSRF."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from attribution.models import Conversion, ConversionAdjustment
from core.models import Membership
from tests.helpers import clicked, make_offer, tracking
from tests.reporting.conftest import logged_in, member
from tests.reporting.test_dashboard_pages import column, table

pytestmark = pytest.mark.django_db


def converted(account: Any, txn_id: str, **params: str) -> Conversion:
    _, click_id = clicked(account, make_offer(account, name="Shoes"))
    response = tracking(account).get(
        "/conv", {"token": account.postback_token, "click_id": click_id, "txn_id": txn_id,
                  **params},
    )  # fmt: skip
    return Conversion.objects.get(pk=response.json()["conversion_id"])


def with_role(account: Any, username: str, role: str) -> Client:
    user = member(account, username)
    Membership.objects.filter(user=user).update(role=role)
    return logged_in(user)


def page_url(account: Any, conversion: Conversion, tail: str = "") -> str:
    return f"/dashboard/{account.account.pk}/conversions/{conversion.pk}/{tail}"


class TestTheConversionsPage:
    def test_it_shows_approval_and_payout_filters_by_approval_and_links_each_row(
        self, owner: Any
    ) -> None:
        approved = converted(owner, "a", revenue="40", payout="4")
        converted(owner, "p", status="pending")
        browser = with_role(owner, "viewer", "viewer")
        url = f"/dashboard/{owner.account.pk}/conversions/"
        rows = table(browser.get(url, {"approval": "approved"}), "conversions")
        assert column(rows, "txn_id") == ["a"]
        assert column(rows, "approval") == ["approved"]
        assert column(rows, "payout") == ["4.00"]
        time_cell = rows["rows"][0][rows["columns"].index("occurred_at")]
        assert time_cell[2] == page_url(owner, approved)
        everything = table(browser.get(url), "conversions")
        assert sorted(column(everything, "approval")) == ["approved", "pending"]
        bad = browser.get(url, {"approval": "maybe"})
        assert bad.status_code == 400 and b"approval" in bad.content


class TestTheConversionPage:
    def test_it_shows_the_conversion_its_credit_and_its_adjustments(self, owner: Any) -> None:
        conversion = converted(owner, "t1", revenue="100", payout="10", status="pending")
        tracking(owner).get("/conv", {"token": owner.postback_token, "txn_id": "t1",
                                      "click_id": conversion.reported_click_id,
                                      "revenue": "60", "payout": "6"})  # fmt: skip
        response = with_role(owner, "viewer", "viewer").get(page_url(owner, conversion))
        assert response.status_code == 200
        html = response.content.decode()
        assert 'data-fact="approval">Pending approval' in html
        assert 'data-fact="revenue">60.00' in html
        assert "Click-through" in html and conversion.reported_click_id in html
        adjustments = table(response, "adjustments")
        assert len(adjustments["rows"]) == 1
        texts = [cell[1] for cell in adjustments["rows"][0]]
        assert "Postback" in texts and "100.00 → 60.00" in texts and "-40.00" in texts
        assert "Correct it" not in html  # a viewer reads, never corrects

    def test_another_accounts_conversion_is_404(self, owner: Any, outsider: Any) -> None:
        conversion = converted(owner, "t1")
        stranger = with_role(outsider, "stranger", "owner")
        assert stranger.get(page_url(owner, conversion)).status_code == 404
        assert stranger.get(page_url(outsider, conversion)).status_code == 404
        refused = stranger.post(page_url(outsider, conversion, "change/"), {"approval": "rejected"})
        assert refused.status_code == 404

    def test_an_admin_corrects_it_with_a_reason_kept_as_an_adjustment(self, owner: Any) -> None:
        conversion = converted(owner, "t1", revenue="100")
        browser = with_role(owner, "boss", "admin")
        form = {"approval": "reversed", "revenue": "0", "payout": "100.0000",
                "reason": "chargeback <b>"}  # fmt: skip
        response = browser.post(page_url(owner, conversion, "change/"), form)
        assert response.status_code == 302
        conversion.refresh_from_db()
        assert (conversion.approval, conversion.revenue, conversion.payout) == (
            "reversed", Decimal("0"), Decimal("100"),
        )  # fmt: skip
        adjustment = ConversionAdjustment.objects.get()
        assert (adjustment.source, adjustment.actor, adjustment.reason) == (
            "api", "user boss", "chargeback <b>",
        )  # fmt: skip
        shown = browser.get(page_url(owner, conversion)).content.decode()
        assert "chargeback &lt;b&gt;" in shown and "user boss" in shown
        # The form as shown, sent again: nothing changes, no adjustment.
        again = {"approval": "reversed", "revenue": "0.0000", "payout": "100.0000"}
        browser.post(page_url(owner, conversion, "change/"), again)
        assert ConversionAdjustment.objects.count() == 1

    def test_a_bad_value_is_a_400_naming_the_field_and_changes_nothing(self, owner: Any) -> None:
        conversion = converted(owner, "t1", revenue="100")
        browser = with_role(owner, "boss", "owner")
        for form, field in (
            ({"approval": "approved", "revenue": "-3"}, "revenue"),
            ({"approval": "maybe"}, "approval"),
            ({"approval": "approved", "reason": "x" * 501}, "reason"),
        ):
            response = browser.post(page_url(owner, conversion, "change/"), form)
            assert response.status_code == 400
            assert f'data-field="{field}"' in response.content.decode()
        assert not ConversionAdjustment.objects.exists()

    @pytest.mark.parametrize("role", ["viewer", "member"])
    def test_read_only_roles_get_403_on_the_form(self, owner: Any, role: str) -> None:
        conversion = converted(owner, "t1")
        response = with_role(owner, role, role).post(
            page_url(owner, conversion, "change/"), {"approval": "rejected"}
        )
        assert response.status_code == 403
        conversion.refresh_from_db()
        assert conversion.approval == "approved"

    def test_the_form_needs_the_csrf_token(self, owner: Any) -> None:
        conversion = converted(owner, "t1")
        browser = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)
        user = member(owner, "careful")
        Membership.objects.filter(user=user).update(role="admin")
        browser.force_login(user)
        response = browser.post(page_url(owner, conversion, "change/"), {"approval": "rejected"})
        assert response.status_code == 403
        assert not ConversionAdjustment.objects.exists()
