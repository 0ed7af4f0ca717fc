"""Django admin holds what it edits to core.bounds: a value past them is a form error
on the page, never a 500 and never stored."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from core.models import Account, Message, Offer
from tests.conftest import AccountFixture


class FormFields(HTMLParser):
    """The fields of the admin's change form as a browser would submit them unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("submit", "button", "file"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.data[name] = a.get("value", "on" if a.get("type") == "checkbox" else "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea] += data.removeprefix("\n")


@pytest.fixture
def admin_client(db: Any) -> Client:
    user = get_user_model().objects.create_superuser("root", password=None)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    client.raise_request_exception = False
    return client


def change(client: Client, url: str, **fields: str) -> Any:
    """Open the change form at `url`, change some fields, submit it."""
    page = client.get(url)
    assert page.status_code == 200
    form = FormFields()
    form.feed(page.content.decode())
    return client.post(url, form.data | {"_save": "Save"} | fields)


def error_on(response: Any, field: str) -> bool:
    return response.status_code == 200 and field in response.context["adminform"].form.errors


@pytest.mark.django_db
class TestOfferAdmin:
    @pytest.fixture
    def offer(self, owner: AccountFixture) -> Offer:
        offer = Offer(account=owner.account, name="O", destination_url="https://adv.example/")
        offer.rotate_postback_secret()
        offer.save()
        return offer

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"expires_at_0": "0001-01-01", "expires_at_1": "00:00:00"}, "expires_at"),
            ({"expires_at_0": "1999-12-31", "expires_at_1": "23:59:59"}, "expires_at"),
            ({"click_window_days": "3651"}, "click_window_days"),
            ({"click_window_days": "1" + "0" * 30}, "click_window_days"),
            ({"default_payout": "10000000000"}, "default_payout"),
        ],
    )
    def test_a_value_past_the_bounds_is_a_form_error(
        self, admin_client: Client, offer: Offer, fields: dict[str, str], field: str
    ) -> None:
        response = change(admin_client, f"/admin/core/offer/{offer.pk}/change/", **fields)
        assert error_on(response, field), response.status_code
        offer.refresh_from_db()
        assert offer.expires_at is None and offer.click_window_days is None

    def test_values_inside_them_are_saved(self, admin_client: Client, offer: Offer) -> None:
        # The account keeps raw clicks as long as the window (Account.retention_uncovered).
        Account.objects.filter(pk=offer.account_id).update(data_retention_days=3650)
        response = change(
            admin_client,
            f"/admin/core/offer/{offer.pk}/change/",
            expires_at_0="2000-01-01",
            expires_at_1="00:00:00",
            click_window_days="3650",
        )
        assert response.status_code == 302
        offer.refresh_from_db()
        assert offer.expires_at == dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
        assert offer.click_window_days == 3650


@pytest.mark.django_db
@pytest.mark.parametrize("days", ["0", "3651", "1" + "0" * 30])
def test_an_accounts_default_click_window_is_held_to_1_to_3650_days(
    admin_client: Client, owner: AccountFixture, days: str
) -> None:
    url = f"/admin/core/account/{owner.account.pk}/change/"
    response = change(admin_client, url, default_click_window_days=days)
    assert error_on(response, "default_click_window_days"), response.status_code
    assert Account.objects.get(pk=owner.account.pk).default_click_window_days == 90


@pytest.mark.django_db
class TestMessageAdmin:
    @pytest.mark.parametrize(
        ("day", "time"), [("0001-01-01", "00:00:00"), ("1999-12-31", "23:59:59")]
    )
    def test_a_sent_at_before_2000_is_a_form_error(
        self, admin_client: Client, owner: AccountFixture, day: str, time: str
    ) -> None:
        message = owner.mint(sent_at="2026-01-05T10:00:00Z")
        url = f"/admin/core/message/{message['id']}/change/"
        response = change(admin_client, url, sent_at_0=day, sent_at_1=time)
        assert error_on(response, "sent_at"), response.status_code
        stored = Message.objects.get(pk=message["id"]).sent_at
        assert stored == dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC)

    def test_a_sent_at_inside_the_bounds_is_saved(
        self, admin_client: Client, owner: AccountFixture
    ) -> None:
        message = owner.mint(sent_at="2026-01-05T10:00:00Z")
        url = f"/admin/core/message/{message['id']}/change/"
        response = change(admin_client, url, sent_at_0="2000-01-01", sent_at_1="00:00:00")
        assert response.status_code == 302
        stored = Message.objects.get(pk=message["id"]).sent_at
        assert stored == dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
