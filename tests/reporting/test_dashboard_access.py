"""Who may see which dashboard page: members 200, other accounts 404, anonymous to login."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from core.models import Account, Membership
from tests.reporting.conftest import PASSWORD, Dataset, logged_in, member

PAGES = [
    "",
    "campaigns/",
    "creatives/",
    "offers/",
    "lists/",
    "messages/",
    "conversions/",
    "postbacks/",
    "bots/",
]


def pages_of(data: Dataset) -> list[str]:
    account_id = data.account.account.pk
    return [f"/dashboard/{account_id}/{p}" for p in PAGES] + [
        f"/dashboard/{account_id}/messages/{data.spring['id']}/",
        f"/dashboard/{account_id}/contacts/{data.contact_id}/",
    ]


@pytest.mark.django_db
class TestMembers:
    def test_every_page_answers_a_member(self, dashboard: Client, data: Dataset) -> None:
        for url in pages_of(data):
            response = dashboard.get(url)
            assert response.status_code == 200, url
            assert data.account.account.name in response.content.decode(), url

    def test_every_table_exports_csv(self, dashboard: Client, data: Dataset) -> None:
        for url in pages_of(data):
            response = dashboard.get(url, {"format": "csv"})
            assert response.status_code == 200, url
            assert response["Content-Type"].startswith("text/csv"), url
            assert b"".join(response.streaming_content).count(b"\n") >= 1, url


@pytest.mark.django_db
class TestOutsiders:
    def test_another_accounts_pages_are_404(self, data: Dataset, outsider: Any) -> None:
        stranger = logged_in(member(outsider, "stranger"))
        for url in pages_of(data):
            assert stranger.get(url).status_code == 404, url
            assert stranger.get(url, {"format": "csv"}).status_code == 404, url

    def test_anothers_message_or_contact_under_ones_own_account_is_404(
        self, data: Dataset, outsider: Any
    ) -> None:
        # The stranger guesses the owner's message and contact ids under their own account.
        stranger = logged_in(member(outsider, "stranger"))
        own = outsider.account.pk
        assert stranger.get(f"/dashboard/{own}/messages/{data.spring['id']}/").status_code == 404
        assert stranger.get(f"/dashboard/{own}/contacts/{data.contact_id}/").status_code == 404

    def test_an_account_that_does_not_exist_is_404(self, dashboard: Client) -> None:
        assert dashboard.get("/dashboard/999999999/").status_code == 404

    def test_a_deactivated_account_is_404(self, dashboard: Client, data: Dataset) -> None:
        Account.objects.filter(pk=data.account.account.pk).update(is_active=False)
        assert (
            dashboard.get(f"/dashboard/{data.account.account.pk}/conversions/").status_code == 404
        )

    def test_a_superuser_who_is_no_member_sees_nothing_either(self, data: Dataset) -> None:
        admin = get_user_model().objects.create_superuser("root", "r@example.com", PASSWORD)
        for url in pages_of(data):
            assert logged_in(admin).get(url).status_code == 404, url


@pytest.mark.django_db
class TestAnonymous:
    def test_every_page_sends_them_to_log_in(self, anonymous: Client, data: Dataset) -> None:
        for url in [*pages_of(data), "/dashboard/"]:
            response = anonymous.get(url)
            assert response.status_code == 302, url
            assert response["Location"] == f"/accounts/login/?next={url}"

    def test_the_site_root_leads_to_the_dashboard(self, anonymous: Client) -> None:
        response = anonymous.get("/")
        assert (response.status_code, response["Location"]) == (302, "/dashboard/")

    def test_the_admin_stays_where_it_was(self, anonymous: Client) -> None:
        assert anonymous.get("/admin/")["Location"].startswith("/admin/login/")


@pytest.mark.django_db
class TestLogin:
    def test_logging_in_lands_on_the_accounts_overview(self, marketer: Any, owner: Any) -> None:
        client = Client(HTTP_HOST="localhost")
        page = client.get("/accounts/login/")
        assert page.status_code == 200 and b'name="password"' in page.content
        response = client.post(
            "/accounts/login/", {"username": "marketer", "password": PASSWORD}, follow=True
        )
        assert response.redirect_chain[-1][0] == f"/dashboard/{owner.account.pk}/"
        assert response.status_code == 200

    def test_a_wrong_password_is_refused_and_said_so(self, marketer: Any) -> None:
        client = Client(HTTP_HOST="localhost")
        response = client.post("/accounts/login/", {"username": "marketer", "password": "no"})
        assert response.status_code == 200
        assert b"do not match" in response.content
        assert client.get("/dashboard/").status_code == 302

    def test_it_returns_to_the_page_asked_for(self, marketer: Any, owner: Any) -> None:
        target = f"/dashboard/{owner.account.pk}/conversions/"
        response = Client(HTTP_HOST="localhost").post(
            f"/accounts/login/?next={target}",
            {"username": "marketer", "password": PASSWORD, "next": target},
        )
        assert response["Location"] == target

    @pytest.mark.parametrize(
        "target", ["https://evil.example/", "//evil.example/", "/\\evil.example/"]
    )
    def test_it_never_redirects_off_the_site(self, marketer: Any, target: str) -> None:
        response = Client(HTTP_HOST="localhost").post(
            "/accounts/login/", {"username": "marketer", "password": PASSWORD, "next": target}
        )
        assert response.status_code == 302
        assert response["Location"] == "/dashboard/"

    def test_logging_out_ends_the_session(self, dashboard: Client, owner: Any) -> None:
        response = dashboard.post("/accounts/logout/")
        assert (response.status_code, response["Location"]) == (302, "/accounts/login/")
        assert dashboard.get(f"/dashboard/{owner.account.pk}/").status_code == 302

    def test_the_login_page_is_only_on_app_hosts(self, owner: Any) -> None:
        response = Client(HTTP_HOST=owner.domain.host).get("/accounts/login/")
        assert response.status_code == 404


@pytest.mark.django_db
class TestHome:
    def test_one_account_goes_straight_to_its_overview(self, dashboard: Client, owner: Any) -> None:
        response = dashboard.get("/dashboard/")
        assert response["Location"] == f"/dashboard/{owner.account.pk}/"

    def test_several_accounts_are_offered_to_choose(
        self, marketer: Any, owner: Any, make_account: Any
    ) -> None:
        second = make_account("Second <b>Brand</b>")
        Membership.objects.create(user=marketer, account=second.account)
        response = logged_in(marketer).get("/dashboard/")
        body = response.content.decode()
        assert response.status_code == 200
        assert f'href="/dashboard/{owner.account.pk}/"' in body
        assert f'href="/dashboard/{second.account.pk}/"' in body
        assert "Second &lt;b&gt;Brand&lt;/b&gt;" in body

    def test_every_page_offers_a_switch_to_the_users_other_accounts(
        self, marketer: Any, owner: Any, make_account: Any, outsider: Any
    ) -> None:
        second = make_account("Second Brand")
        Membership.objects.create(user=marketer, account=second.account)
        body = logged_in(marketer).get(f"/dashboard/{owner.account.pk}/bots/").content.decode()
        assert '<details class="switcher">' in body
        assert f'<a href="/dashboard/{second.account.pk}/">Second Brand</a>' in body
        assert outsider.account.name not in body

    def test_no_account_says_so(self, db: Any) -> None:
        user = get_user_model().objects.create_user("lonely", password=PASSWORD)
        response = logged_in(user).get("/dashboard/")
        assert response.status_code == 200 and b"not a member of any account" in response.content
